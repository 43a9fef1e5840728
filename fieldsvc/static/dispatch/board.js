/* Dispatch board: follow an optimizer run, and drag jobs onto technicians.
 * Plain JavaScript, no build step, no network beyond this app. Everything here has a form
 * or link doing the same without JavaScript. */
(function () {
  "use strict";

  // ------------------------------------------------------------ run progress
  var box = document.getElementById("run-progress");
  if (box) {
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("run-bar");
    var percent = document.getElementById("run-percent");
    var statusEl = document.getElementById("run-status");
    var messageEl = document.getElementById("run-message");
    var review = document.getElementById("run-review");
    var poll = function () {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (run) {
          var value = Math.round((run.progress || 0) * 100);
          bar.value = value;
          bar.textContent = value + " %";
          percent.textContent = value + " %";
          statusEl.textContent = run.status;
          messageEl.textContent = run.error || run.message || "";
          box.setAttribute("data-status", run.status);
          if (run.status === "finished" || run.status === "failed") {
            review.hidden = false;
          } else {
            window.setTimeout(poll, 700);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    var initial = box.getAttribute("data-status");
    if (initial !== "finished" && initial !== "failed") { poll(); }
  }

  // ------------------------------------------------------------ drag and drop
  var form = document.getElementById("assign-form");
  var timeline = document.querySelector(".timeline");
  if (!form || !timeline) { return; }
  var axisStart = timeline.getAttribute("data-axis-start").split(":");
  var axisStartMin = parseInt(axisStart[0], 10) * 60 + parseInt(axisStart[1], 10);
  var axisMinutes = parseInt(timeline.getAttribute("data-axis-minutes"), 10);
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };

  document.querySelectorAll("[draggable=true][data-work-order-id]").forEach(function (el) {
    el.addEventListener("dragstart", function (ev) {
      ev.dataTransfer.setData("text/plain", el.getAttribute("data-work-order-id"));
      ev.dataTransfer.effectAllowed = "move";
      el.classList.add("dragging");
    });
    el.addEventListener("dragend", function () { el.classList.remove("dragging"); });
  });

  var select = function (name, value) {
    var field = form.elements[name];
    if (field.tagName === "SELECT" && !field.querySelector("option[value='" + value + "']")) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = "#" + value;
      field.appendChild(option);
    }
    field.value = value;
  };

  document.querySelectorAll(".dropzone").forEach(function (zone) {
    zone.addEventListener("dragover", function (ev) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "move";
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      zone.classList.remove("over");
      var id = ev.dataTransfer.getData("text/plain");
      if (!id) { return; }
      var rect = zone.getBoundingClientRect();
      var fraction = Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width));
      // To the quarter hour where the job was dropped.
      var minutes = axisStartMin + Math.round(fraction * axisMinutes / 15) * 15;
      minutes = Math.min(minutes, 23 * 60 + 45);
      select("work_order_id", id);
      select("technician_id", zone.getAttribute("data-technician-id"));
      form.elements.start.value = pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
      form.submit();
    });
  });
})();
