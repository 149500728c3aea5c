// The showcase's lightbox: pictures open large in a modal <dialog> (the
// browser keeps focus inside it and closes it on Esc); the arrow keys and
// the buttons move between pictures, and focus returns to the picture that
// opened it. Without JavaScript each picture is a plain link to the file.
(function () {
  "use strict";
  var dialog = document.getElementById("sc-lightbox");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var stage = dialog.querySelector(".sc-lightbox-stage");
  var caption = dialog.querySelector(".sc-lightbox-caption");
  var prev = dialog.querySelector(".sc-lb-prev");
  var next = dialog.querySelector(".sc-lb-next");
  var close = dialog.querySelector(".sc-lb-close");
  var links = Array.prototype.slice.call(document.querySelectorAll("a[data-lightbox]"));
  var index = -1, opener = null;

  function show(i) {
    index = (i + links.length) % links.length;
    var a = links[index];
    var img = document.createElement("img");
    img.src = a.getAttribute("href");
    img.alt = a.getAttribute("data-alt") || "";
    stage.replaceChildren(img);
    caption.textContent = (a.getAttribute("data-caption") || "") + (links.length > 1 ? " (" + (index + 1) + " of " + links.length + ")" : "");
    prev.hidden = next.hidden = links.length < 2;
  }

  links.forEach(function (a, i) {
    a.addEventListener("click", function (ev) {
      if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      opener = a;
      show(i);
      dialog.showModal();
      close.focus();
    });
  });
  prev.addEventListener("click", function () { show(index - 1); });
  next.addEventListener("click", function () { show(index + 1); });
  close.addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowLeft" && links.length > 1) { ev.preventDefault(); show(index - 1); }
    if (ev.key === "ArrowRight" && links.length > 1) { ev.preventDefault(); show(index + 1); }
  });
  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener("click", function (ev) {
    if (ev.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", function () {
    stage.replaceChildren();
    if (opener) opener.focus();
  });
})();

// Inside Spark's frame, the embed tells the page around it how tall it is
// (message {type: "optio:portfolio-height", height}), so Spark can size the
// frame to fit instead of showing a second scroll bar.
(function () {
  "use strict";
  if (window.parent === window || !document.querySelector(".sc-embedded")) return;
  var last = 0;
  function tell() {
    var h = Math.ceil(document.documentElement.scrollHeight);
    if (h !== last) {
      last = h;
      window.parent.postMessage({ type: "optio:portfolio-height", height: h }, "*");
    }
  }
  tell();
  window.addEventListener("load", tell);
  if (typeof ResizeObserver === "function") new ResizeObserver(tell).observe(document.body);
})();
