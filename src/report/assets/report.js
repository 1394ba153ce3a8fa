(function () {
  "use strict";
  var root = document.documentElement;
  function fail(msg) {
    root.setAttribute("data-js-error", "1");
    var b = document.getElementById("js-error");
    if (b) { b.hidden = false; b.textContent = "Report script error: " + msg; }
  }
  window.addEventListener("error", function (e) { fail(String(e.message || "error")); });
  try {
    // Copy buttons: copy the text of the <pre> the button sits next to.
    function copyText(text, btn) {
      function done(ok) {
        btn.textContent = ok ? "Copied" : "Select + Ctrl-C";
        btn.classList.toggle("done", ok);
        setTimeout(function () { btn.textContent = "Copy"; btn.classList.remove("done"); }, 1600);
      }
      function fallback() {
        var ta = document.createElement("textarea");
        ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
        document.body.appendChild(ta); ta.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
        document.body.removeChild(ta); done(ok);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
      } else { fallback(); }
    }
    var buttons = document.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i++) {
      (function (btn) {
        btn.hidden = false;
        btn.addEventListener("click", function () {
          var pre = document.getElementById(btn.getAttribute("data-for"));
          if (pre) { copyText(pre.textContent, btn); }
        });
      })(buttons[i]);
    }
    // Timeline read-out: what is under the pointer, in words.
    var readout = document.getElementById("tl-readout");
    var hint = readout ? readout.textContent : "";
    var cols = document.querySelectorAll(".tcol, .tmark, .tlane");
    for (var j = 0; j < cols.length; j++) {
      (function (el) {
        el.addEventListener("mouseenter", function () {
          var t = el.querySelector("title");
          if (readout && t) { readout.textContent = t.textContent; }
        });
        el.addEventListener("mouseleave", function () { if (readout) { readout.textContent = hint; } });
      })(cols[j]);
    }
    // Graph: the node under the pointer, in words.
    var gread = document.getElementById("graph-readout");
    var ghint = gread ? gread.textContent : "";
    var nodes = document.querySelectorAll(".tnode");
    for (var k = 0; k < nodes.length; k++) {
      (function (el) {
        el.addEventListener("mouseenter", function () {
          var t = el.querySelector("title");
          if (gread && t) { gread.textContent = t.textContent; }
        });
        el.addEventListener("mouseleave", function () { if (gread) { gread.textContent = ghint; } });
      })(nodes[k]);
    }
    var st = document.getElementById("js-status");
    if (st) { st.textContent = "interactive"; }
    root.setAttribute("data-ready", "1");
  } catch (err) {
    fail(String(err && err.message || err));
  }
})();
