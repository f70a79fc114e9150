// Rebound viewer: renders math with the vendored KaTeX and adds keyboard
// navigation. Loaded from 'self' only (the page's CSP forbids inline script).
// KaTeX reads text nodes and builds its own DOM, so model output is never
// parsed as HTML; trust is false, so \href, \url and \html* are refused.
(function () {
  "use strict";

  function looksLikeTeX(s) {
    return /[\\^_{}]/.test(s);
  }

  // options for one element: "$" delimits math unless the nearest
  // data-dollar-math says otherwise (GSM8K uses "$" for money).
  function options(el) {
    var scope = el.closest("[data-dollar-math]");
    var dollar = !scope || scope.getAttribute("data-dollar-math") === "true";
    var delimiters = [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false }
    ];
    // Display environments written inline in the text (MATH solutions use
    // \begin{align*} … \end{align*} outside any $…$): auto-render keeps
    // a \begin{…} delimiter as part of the math it renders.
    ["equation", "equation*", "align", "align*", "alignat", "alignat*", "gather", "gather*", "multline", "multline*"].forEach(function (env) {
      delimiters.push({ left: "\\begin{" + env + "}", right: "\\end{" + env + "}", display: true });
    });
    if (dollar) {
      delimiters.push({ left: "$", right: "$", display: false });
    }
    return {
      delimiters: delimiters,
      throwOnError: false,
      trust: false,
      strict: "ignore",
      maxExpand: 1000,
      ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option", "input", "select"]
    };
  }

  // renderBoxed renders a bare \boxed{…} left in the text outside any math
  // delimiters (GSM8K-style answers often are), matching braces.
  function renderBoxed(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var nodes = [];
    while (walker.nextNode()) {
      var n = walker.currentNode;
      if (n.nodeValue.indexOf("\\boxed{") >= 0 && !n.parentElement.closest(".katex")) {
        nodes.push(n);
      }
    }
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      var frag = document.createDocumentFragment();
      var pos = 0;
      for (;;) {
        var i = text.indexOf("\\boxed{", pos);
        if (i < 0) {
          break;
        }
        var depth = 0;
        var j = i + 6; // the opening brace
        for (; j < text.length; j++) {
          var c = text.charAt(j);
          if (c === "\\") {
            j++;
          } else if (c === "{") {
            depth++;
          } else if (c === "}") {
            depth--;
            if (depth === 0) {
              break;
            }
          }
        }
        if (j >= text.length) {
          break;
        }
        frag.appendChild(document.createTextNode(text.slice(pos, i)));
        var span = document.createElement("span");
        try {
          window.katex.render(text.slice(i, j + 1), span, { throwOnError: false, trust: false, strict: "ignore", maxExpand: 1000 });
        } catch (e) {
          span.textContent = text.slice(i, j + 1);
        }
        frag.appendChild(span);
        pos = j + 1;
      }
      if (pos > 0) {
        frag.appendChild(document.createTextNode(text.slice(pos)));
        node.parentNode.replaceChild(frag, node);
      }
    });
  }

  function renderMath() {
    document.querySelectorAll(".math").forEach(function (el) {
      try {
        if (typeof window.renderMathInElement === "function") {
          window.renderMathInElement(el, options(el));
        }
        if (window.katex) {
          renderBoxed(el);
        }
      } catch (e) {
        // Leave the text as it is.
      }
    });
    if (window.katex) {
      document.querySelectorAll(".tex").forEach(function (el) {
        var src = el.textContent.trim().replace(/^\$+|\$+$/g, "");
        if (!src || !looksLikeTeX(src)) {
          return;
        }
        try {
          window.katex.render(src, el, { throwOnError: false, trust: false, strict: "ignore", maxExpand: 1000 });
        } catch (e) {
          // Leave the text as it is.
        }
      });
    }
    document.body.setAttribute("data-math", "done");
  }

  function keys(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) {
      return;
    }
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      return;
    }
    var rel = { j: "next", k: "prev", ArrowRight: "next", ArrowLeft: "prev" }[ev.key];
    if (!rel) {
      return;
    }
    var a = document.querySelector('a[rel="' + rel + '"]');
    if (a) {
      window.location.href = a.href;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderMath();
    document.addEventListener("keydown", keys);
  });
})();
