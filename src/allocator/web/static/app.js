// The job page's live progress: poll the job's state twice a second and show it; open the
// result when the job is done. Nothing else on the workbench needs a script.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var id = box.getAttribute("data-job");
  var kind = box.getAttribute("data-kind");
  var stateEl = document.getElementById("job-state");

  function text(elId, value) {
    var el = document.getElementById(elId);
    if (el) { el.textContent = value; }
  }

  function number(value) {
    return value === null || value === undefined ? "–" : Number(value).toPrecision(7).replace(/\.?0+$/, "");
  }

  function show(job) {
    stateEl.textContent = stateEl.getAttribute("data-label-" + job.state) || job.state;
    box.setAttribute("data-state", job.state);
    var pos = document.getElementById("job-position");
    pos.textContent = job.position ? pos.getAttribute("data-label") + " " + job.position : "";
    var body = document.querySelector("#phases tbody");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    job.phases.forEach(function (p) {
      var tr = document.createElement("tr");
      var a = document.createElement("td");
      var b = document.createElement("td");
      a.textContent = p[0];
      b.textContent = Number(p[1]).toFixed(2);
      b.className = "num";
      tr.appendChild(a);
      tr.appendChild(b);
      body.appendChild(tr);
    });
    text("solver-phase", job.solver_phase || "–");
    text("incumbent", number(job.incumbent));
    text("bound", number(job.bound));
    text("gap", job.gap === null ? "–" : (100 * job.gap).toFixed(2) + "%");
    var msg = document.getElementById("job-message");
    msg.textContent = job.message;
    msg.className = job.state === "failed" || job.state === "cancelled" ? "problem" : "";
    if (job.state === "done" || job.state === "failed" || job.state === "cancelled") {
      var cancel = document.getElementById("cancel-form");
      if (cancel) { cancel.parentNode.removeChild(cancel); }
    }
    if (job.state === "done") {
      var target = kind === "run" ? "/runs/" + job.run_id.slice(0, 12) : "/sweeps/" + job.id;
      window.location.assign(target);
      return false;
    }
    return job.state === "queued" || job.state === "running";
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", "/jobs/" + id + "/state");
    request.onload = function () {
      if (request.status === 200 && show(JSON.parse(request.responseText))) {
        window.setTimeout(poll, 500);
      }
    };
    request.onerror = function () { window.setTimeout(poll, 2000); };
    request.send();
  }

  var state = box.getAttribute("data-state");
  if (state === "queued" || state === "running") { poll(); }
}());
