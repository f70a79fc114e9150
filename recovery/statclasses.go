package recovery

import (
	"encoding/binary"

	"github.com/rebound-lab/rebound/difficulty"
	"github.com/rebound-lab/rebound/estimate"
)

// problemClasses are a summary's calibrated problems grouped by equal data
// (issue 19: the statistics of a million problems in the memory of a
// thousand). Two problems are in one class when they have the same
// straight-shot counts, bucket and continuation counts per strategy, so
// every statistic of the report — a row's posterior pass rate, its
// recovery, the latent EM — weighs them alike: a run of
// -samples 3 -continuations 2 has a few hundred classes at any size. The
// bootstrap still draws problems one by one
// (estimate.Classes), so the intervals are those of the problems.
type problemClasses struct {
	estimate.Classes
	// rows[j] is summary row j over the classes; units[c] is class c's
	// data with every strategy's continuations pooled.
	rows  []statRows
	units []estimate.Unit
}

// classes groups t's calibrated problems for rows (see problemClasses);
// each puts every problem in a class of its own (to test that grouping
// changes nothing). A repeated ID is one problem with the first one's
// counts, as many times in a row as it has calibrated records in it.
//
// A row holds its bucket's calibrated problems (every bucket's for
// "overall"), whatever its strategy: the members lists of summaryFold.
func (t *reportTable) classes(rows []statRow, each bool) problemClasses {
	var pc problemClasses
	var dupsOf map[int32][]int32
	for d, first := range t.dups {
		if dupsOf == nil {
			dupsOf = map[int32][]int32{}
		}
		dupsOf[first] = append(dupsOf[first], d)
	}
	ix := map[string]int32{}
	var rep [][]int32 // rep[c]: the records of class c's first problem
	var key []byte
	records := make([]int32, 0, 4)
	for i := range int32(t.len()) {
		p := t.at(i)
		if _, dup := t.dups[i]; dup || p.strongN <= 0 {
			continue
		}
		records = append(records[:0], i)
		for _, d := range dupsOf[i] {
			if t.at(d).strongN > 0 {
				records = append(records, d)
			}
		}
		key = binary.AppendUvarint(key[:0], uint64(p.strongK))
		key = binary.AppendUvarint(key, uint64(p.strongN))
		if each {
			key = binary.AppendUvarint(key, uint64(i))
		}
		for _, r := range records {
			q := t.at(r)
			key = binary.AppendUvarint(key, uint64(q.bucket))
			for s := range t.strategies {
				var c contCounts
				if s < len(q.cont) {
					c = q.cont[s]
				}
				key = binary.AppendUvarint(key, uint64(c.y))
				key = binary.AppendUvarint(key, uint64(c.m))
			}
		}
		c, ok := ix[string(key)]
		if !ok {
			c = int32(len(rep))
			ix[string(key)] = c
			rep = append(rep, append([]int32(nil), records...))
			pc.Counts = append(pc.Counts, difficulty.Count{K: int(p.strongK), N: int(p.strongN)})
		}
		pc.Of = append(pc.Of, c)
	}
	pc.rows = make([]statRows, len(rows))
	for j, row := range rows {
		a := row.a
		rd := &pc.rows[j]
		for c, recs := range rep {
			for _, r := range recs {
				if a.bucket >= 0 && int(t.at(r).bucket) != a.bucket {
					continue
				}
				rd.members = append(rd.members, c)
				if y, m, _ := a.counts(r); m > 0 {
					rd.cont = append(rd.cont, c)
					rd.y = append(rd.y, y)
					rd.m = append(rd.m, m)
				}
			}
		}
	}
	pc.units = make([]estimate.Unit, len(rep))
	all := &acc{t: t, bucket: -1, strategy: -1}
	for c, recs := range rep {
		y, m, _ := all.counts(recs[0])
		pc.units[c] = estimate.Unit{K: pc.Counts[c].K, N: pc.Counts[c].N, Y: y, M: m}
	}
	return pc
}
