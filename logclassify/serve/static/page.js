// logclassify's page: read a pasted log or a dropped file, send it to this server's API, show the answer.
// Everything from the report is put on the page as text (textContent), never as HTML: a log is untrusted input.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("form"), logBox = $("log"), fileInput = $("file"), drop = $("drop"), go = $("go");
  const progress = $("progress"), statusText = $("status-text"), answer = $("answer");
  const KEEP_TEXT = 64 * 1024 * 1024; // keep the input's text (for the lines around evidence) up to this size
  const CONTEXT = 5; // lines shown before and after an evidence line
  let chosen = null; // a file picked or dropped: {name, blob, gz, issue, text}
  let inputLines = null; // the lines of the input last classified
  let seq = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  // rule text marks commands and names with `backticks`: shown as code (still text nodes, never HTML)
  const rich = (text) => String(text).split(/`([^`\n]+)`/).map((part, i) => i % 2 ? el("code", { text: part }) : part);
  const uid = (prefix) => `${prefix}-${++seq}`;
  const bytes = (n) => n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB`
    : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`;
  const seconds = (s) => s === null || s === undefined ? "?" : s < 60 ? `${+s.toFixed(1)} s`
    : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`;
  const safeUrl = (u) => { try { const p = new URL(u); return /^https?:$/.test(p.protocol) ? p.href : null; } catch { return null; } };

  // -- status and progress -----------------------------------------------------------------------------------
  let ticker = null;
  function setStatus(text, { busy = false, value = null, error = false } = {}) {
    statusText.textContent = text;
    progress.hidden = !busy;
    if (busy && value === null) progress.removeAttribute("value");
    if (busy && value !== null) { progress.max = 1; progress.value = value; }
    statusText.parentElement.classList.toggle("error", error);
  }
  function working(label) {
    const start = Date.now();
    stopTicker();
    setStatus(`${label}…`, { busy: true });
    ticker = setInterval(() => setStatus(`${label}… ${Math.round((Date.now() - start) / 1000)} s`, { busy: true }), 1000);
  }
  function stopTicker() { if (ticker) clearInterval(ticker); ticker = null; }

  // -- input: paste, choose, drop ----------------------------------------------------------------------------
  async function isGzip(file) {
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    return head[0] === 0x1f && head[1] === 0x8b;
  }
  async function take(file) {
    const gz = /\.gz$/i.test(file.name) || await isGzip(file);
    const issue = /\.(md|markdown)(\.gz)?$/i.test(file.name);
    let text = null;
    if (gz && typeof DecompressionStream === "function") {
      working(`Unpacking ${file.name}`);
      try {
        text = await new Response(file.stream().pipeThrough(new DecompressionStream("gzip"))).text();
      } catch { text = null; } // damaged: the server reads it up to the damage and says so
      stopTicker();
    } else if (!gz && file.size <= KEEP_TEXT) {
      text = await file.text();
    }
    chosen = { name: file.name, blob: file, gz, issue, text: text && text.length <= KEEP_TEXT ? text : null };
    logBox.value = "";
    const name = $("file-name");
    name.replaceChildren(el("span", { text: `${file.name} (${bytes(file.size)}${gz ? ", gzip" : ""})` }), " ",
      el("button", { type: "button", class: "button small secondary", onclick: forget, "aria-label": `Remove ${file.name}` }, "Remove"));
    await classify();
  }
  function forget() {
    chosen = null;
    fileInput.value = "";
    $("file-name").replaceChildren();
    logBox.focus();
  }
  fileInput.addEventListener("change", () => { if (fileInput.files.length) take(fileInput.files[0]); });
  logBox.addEventListener("input", () => { if (chosen && logBox.value) forget(); });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "dragend"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) take(file);
    else if (e.dataTransfer) { logBox.value = e.dataTransfer.getData("text/plain"); forget(); }
  });
  logBox.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); classify(); });

  // -- the request ---------------------------------------------------------------------------------------------
  function send(url, body, type) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest(); // not fetch: XHR reports upload progress
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", type);
      xhr.setRequestHeader("Accept", "application/json");
      const token = $("token").value.trim();
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable && e.total > 256 * 1024) {
          setStatus(`Uploading ${bytes(e.loaded)} of ${bytes(e.total)}…`, { busy: true, value: e.loaded / e.total });
        }
      });
      xhr.upload.addEventListener("load", () => working("Classifying"));
      xhr.addEventListener("load", () => resolve({ status: xhr.status, text: xhr.responseText }));
      xhr.addEventListener("error", () => reject(new Error("the server could not be reached")));
      xhr.addEventListener("timeout", () => reject(new Error("the server did not answer in time")));
      xhr.send(body);
    });
  }

  async function classify() {
    const params = new URLSearchParams();
    if ($("hosts").checked) params.set("redact_hosts", "true");
    let url = "v1/classify", body, type, text;
    if (chosen) {
      if (chosen.issue) url = "v1/classify-issue";
      else params.set("input_format", "log"); // a named file is read as a log, as the command reads it
      params.set("source", chosen.name);
      body = chosen.blob;
      type = chosen.gz ? "application/gzip" : "text/plain; charset=utf-8";
      text = chosen.text;
    } else {
      text = logBox.value;
      if (!text.trim()) {
        setStatus("Paste a log or choose a file first.", { error: true });
        logBox.focus();
        return;
      }
      params.set("source", "pasted log");
      body = text;
      type = "text/plain; charset=utf-8";
    }
    go.disabled = true;
    form.setAttribute("aria-busy", "true");
    setStatus("Sending…", { busy: true });
    try {
      const reply = await send(`${url}?${params}`, body, type);
      stopTicker();
      if (reply.status === 200) {
        inputLines = text ? text.split("\n") : null;
        const report = JSON.parse(reply.text);
        render(report);
        const head = headline(report);
        setStatus(head ? `Done: ${head.title}` : report.unrecognized && report.unrecognized.length
          ? "Done: a failure no rule knows" : "Done: no known failure found");
      } else {
        let message = `the server answered ${reply.status}`;
        try { message = JSON.parse(reply.text).error || message; } catch { /* not JSON */ }
        if (reply.status === 401) {
          $("token-row").hidden = false;
          $("token").focus();
        }
        setStatus(`Not classified: ${message}`, { error: true });
      }
    } catch (err) {
      stopTicker();
      setStatus(`Not classified: ${err.message}`, { error: true });
    } finally {
      go.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  // -- the answer ----------------------------------------------------------------------------------------------
  function headline(report) {
    const all = report.diagnoses || [];
    return all.find((d) => d.severity !== "info") || all[0] || null;
  }

  function render(report) {
    answer.replaceChildren();
    answer.hidden = false;
    const head = headline(report);
    answer.append(el("div", { class: "summary" },
      el("h2", { id: "answer-title", text: `Answer for ${report.source}` }),
      el("span", { class: "muted", text: `${(report.lines || 0).toLocaleString()} lines read` }),
      chips(report.facts || {})));
    if (report.error) answer.append(el("div", { class: "card notice", role: "note" }, el("p", { text: report.error })));
    for (const warning of report.warnings || []) {
      answer.append(el("div", { class: "card notice", role: "note" }, el("p", { text: `Not examined: ${warning}` })));
    }
    if (head) answer.append(diagnosis(head, head.severity === "info" ? "A note" : "Most likely cause", false));
    for (const u of report.unrecognized || []) answer.append(unknown(u));
    if (!head && !(report.unrecognized || []).length) answer.append(healthy());
    if ((report.timeline || []).length) answer.append(timeline(report.timeline));
    for (const d of report.diagnoses || []) {
      if (d !== head) answer.append(diagnosis(d, d.severity === "info" ? "A note" : "Also found", true));
    }
    if (Object.keys(report.facts || {}).length || report.command) answer.append(facts(report.facts || {}, report.command));
    answer.append(raw(report));
    answer.focus();
  }

  function chips(f) {
    const shown = [];
    if (f.vllm_version) shown.push(`vLLM ${f.vllm_version}${f.engine ? ` (${f.engine})` : ""}`);
    if (f.gpu_name || f.gpu) shown.push(String(f.gpu_name || f.gpu));
    if (f.tensor_parallel_size) shown.push(`TP ${f.tensor_parallel_size}`);
    if (f.pipeline_parallel_size) shown.push(`PP ${f.pipeline_parallel_size}`);
    if (f.model) shown.push(String(f.model));
    return shown.length ? el("ul", { class: "chips", "aria-label": "Facts" }, shown.map((s) => el("li", { text: s }))) : null;
  }

  function healthy() {
    return el("div", { class: "card healthy" },
      el("p", { class: "eyebrow", text: "No known failure found" }),
      el("p", { text: "No known cause matches, and no exception or error line was left unexplained. If the server "
        + "still misbehaves, the last lines it printed are the place to look." }));
  }

  function confidence(d) {
    const pct = Math.round((Number(d.confidence) || 0) * 100);
    return el("span", { class: "confidence" },
      el("span", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct,
        "aria-label": "Confidence" }, el("span", { style: `width:${pct}%` })),
      el("span", { text: `${pct}% confident` }));
  }

  function diagnosis(d, eyebrow, compact) {
    const titleId = uid("title");
    const sev = ["critical", "error", "warning", "info"].includes(d.severity) ? d.severity : "info";
    const card = el("article", { class: `card cause-card sev-${sev}`, "aria-labelledby": titleId });
    card.append(el("p", { class: "eyebrow", text: eyebrow }),
      el(compact ? "h4" : "h3", { class: "title", id: titleId, text: d.title }),
      el("div", { class: "meta" }, el("span", { class: "badge", text: sev }), confidence(d), el("code", { text: d.id }),
        d.probe_result && d.probe_result.verdict ? el("span", { text: `probe: ${d.probe_result.verdict}` }) : null));
    const body = [];
    body.push(el("p", { class: "cause" }, rich(d.cause)));
    const captures = Object.entries(d.captures || {});
    if (captures.length) {
      body.push(el("dl", { class: "facts" }, captures.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, el("code", { text: v }))])));
    }
    if ((d.fix || []).length) body.push(el("h4", { text: "How to fix it" }), fixSteps(d));
    if ((d.values || []).length) body.push(el("h4", { text: "Numbers from your log" }), values(d.values));
    const docs = (d.docs || []).map(safeUrl).filter(Boolean);
    if (docs.length) {
      body.push(el("h4", { text: "Docs" }), el("ul", { class: "docs" }, docs.map((u) => el("li", {}, el("a", { href: u, rel: "noopener noreferrer", target: "_blank" }, u)))));
    }
    if ((d.evidence || []).length) body.push(el("h4", { text: "Evidence" }), evidence(d.evidence));
    if (d.probe) {
      body.push(el("p", {}, "To confirm on the machine: ", el("code", { text: `logclassify probe ${d.probe}` })));
    }
    const folded = d.consequences || [];
    if (folded.length) {
      body.push(el("details", {},
        el("summary", { text: `${folded.length} error${folded.length === 1 ? "" : "s"} this caused, folded under it` }),
        folded.map((c) => el("div", { class: "folded" }, el("h5", { text: c.title }), el("code", { text: c.id }),
          (c.evidence || []).length ? evidence(c.evidence) : null))));
    }
    if (compact) card.append(el("details", {}, el("summary", { text: "Cause, fix and evidence" }), body));
    else card.append(...body);
    return card;
  }

  function fixSteps(d) {
    const commands = new Map();
    for (const c of d.commands || []) if (c && c.command) commands.set(Number(c.step), c.command);
    return el("ol", { class: "fix" }, (d.fix || []).map((step, i) => {
      let text = step, command = commands.get(i + 1);
      if (step && typeof step === "object") { // tolerate richer steps: {text, command}
        text = step.text || step.step || step.title || JSON.stringify(step);
        command = command || step.command;
      }
      return el("li", {}, el("span", {}, rich(text)), command ? commandBox(command) : null);
    }));
  }

  function commandBox(command) {
    const copy = el("button", { type: "button", class: "button small secondary", "aria-label": "Copy the command" }, "Copy");
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(command); copy.textContent = "Copied"; } catch { copy.textContent = "Select and copy"; }
    });
    return el("div", { class: "cmd" }, el("pre", {}, el("code", { text: command })), copy);
  }

  function values(list) {
    return el("dl", { class: "facts" }, list.map((v) => [
      el("dt", { text: v.name }),
      el("dd", {}, el("code", { text: String(v.value) }), v.about ? ` ${v.about}` : "",
        (v.lines || []).length ? el("span", { class: "muted", text: ` (line ${v.lines.join(", ")})` }) : null)]));
  }

  function evidence(list) {
    return el("ol", { class: "evidence" }, list.map((e) => {
      const ctxId = uid("ctx");
      const line = Number(e.line);
      const have = inputLines && line >= 1 && line <= inputLines.length;
      const button = el("button", { type: "button", class: "ln", "aria-expanded": "false", "aria-controls": ctxId,
        "aria-label": have ? `Line ${line}: show the lines around it` : `Line ${line}`, disabled: !have }, `line ${line}`);
      const context = el("pre", { class: "context", id: ctxId, hidden: true });
      button.addEventListener("click", () => {
        const open = button.getAttribute("aria-expanded") === "true";
        if (!open && !context.childNodes.length) fillContext(context, line);
        button.setAttribute("aria-expanded", String(!open));
        context.hidden = open;
      });
      return el("li", {}, el("div", { class: "ev" }, button, el("code", { text: e.text })), context);
    }));
  }

  function fillContext(pre, line) {
    const from = Math.max(1, line - CONTEXT), to = Math.min(inputLines.length, line + CONTEXT);
    const width = String(to).length;
    for (let n = from; n <= to; n++) {
      const text = `${String(n).padStart(width)} | ${inputLines[n - 1].replace(/\r$/, "")}`;
      pre.append(n === line ? el("mark", { class: "hit", text }) : text, "\n");
    }
  }

  function unknown(u) {
    const titleId = uid("title");
    return el("article", { class: "card cause-card sev-warning", "aria-labelledby": titleId },
      el("p", { class: "eyebrow", text: "A failure no rule knows" }),
      el("h3", { class: "title", id: titleId, text: u.error }),
      el("p", {}, `Line ${u.line}. Its fingerprint is the same for this failure on any machine or version, so reports of it can be grouped:`),
      el("p", { class: "fingerprint" }, el("code", { text: u.fingerprint })),
      (u.related || []).length ? el("p", {}, "It resembles (a suggestion, not a diagnosis): ",
        u.related.map((r, i) => [i ? ", " : "", el("code", { text: r.id }), ` ${r.title}`])) : null,
      (u.evidence || []).length ? [el("h4", { text: "Evidence" }), evidence(u.evidence)] : null);
  }

  function timeline(phases) {
    const longest = Math.max(...phases.map((p) => Number(p.duration_s) || 0), 0);
    const doneDurations = phases.filter((p) => p.status === "done").map((p) => Number(p.duration_s) || 0);
    const slowest = doneDurations.length && Math.max(...doneDurations) > 0 ? Math.max(...doneDurations) : null;
    const total = phases.reduce((sum, p) => sum + (Number(p.duration_s) || 0), 0);
    const titleId = uid("title");
    return el("section", { class: "card", "aria-labelledby": titleId },
      el("h3", { id: titleId, text: "Startup timeline" }),
      el("p", { class: "muted", text: `${phases.length} phase${phases.length === 1 ? "" : "s"}, ${seconds(total)} in all. `
        + "Bar length is the time a phase took." }),
      el("ol", { class: "timeline" }, phases.map((p) => {
        const d = Number(p.duration_s) || 0;
        const stuck = p.status !== "done";
        const slow = !stuck && slowest !== null && d === slowest && phases.length > 1;
        const state = p.status === "failed" ? "failed here" : p.status === "running" ? "stopped here (hung?)" : slow ? "slowest" : "";
        // a phase that never ended runs to the end of the track, striped: its real length is unknown
        const width = stuck && p.status === "running" ? 100 : longest > 0 ? Math.max(2, (d / longest) * 100) : 2;
        return el("li", { class: stuck ? "stuck" : slow ? "slow" : "" },
          el("span", { class: "phase-name" }, p.label || p.name, state ? el("strong", { text: ` · ${state}` }) : null),
          el("span", { class: "track", "aria-hidden": "true" }, el("span", { class: "bar", style: `width:${width}%` })),
          el("span", { class: "dur" }, p.status === "running" ? `${seconds(p.duration_s)}, no end` : seconds(p.duration_s), el("span", { class: "visually-hidden",
            text: `, lines ${p.start_line}${p.end_line ? `–${p.end_line}` : " to the end"}` })));
      })),
      el("div", { class: "legend", "aria-hidden": "true" },
        el("span", {}, el("i", { style: "background:var(--bar)" }), "done"),
        el("span", {}, el("i", { style: "background:var(--bar-slow)" }), "slowest"),
        el("span", {}, el("i", { style: "background:var(--bar-hung)" }), "failed or hung")));
  }

  const FACT_NAMES = {
    vllm_version: "vLLM", engine: "Engine", torch_version: "PyTorch", cuda_version: "CUDA", nccl_version: "NCCL",
    gpu_name: "GPU", gpu_count: "GPUs", tensor_parallel_size: "Tensor parallel", pipeline_parallel_size: "Pipeline parallel",
    model: "Model", max_model_len: "Max model length", dtype: "dtype", python_version: "Python",
  };
  function factValue(v) {
    if (v && typeof v === "object") {
      return Array.isArray(v) ? v.join(", ") : Object.entries(v).map(([k, x]) => `${k}=${typeof x === "object" ? JSON.stringify(x) : x}`).join("  ");
    }
    return String(v);
  }
  function facts(f, command) {
    const titleId = uid("title");
    const rows = Object.entries(f).map(([k, v]) => [
      el("dt", { text: FACT_NAMES[k] || k.replace(/_/g, " ") }), el("dd", {}, el("code", { text: factValue(v) }))]);
    return el("section", { class: "card", "aria-labelledby": titleId },
      el("h3", { id: titleId, text: "Facts from the log" }),
      rows.length ? el("dl", { class: "facts" }, rows) : null,
      command && command.text ? [el("h4", { text: `Your command (line ${command.line})` }), commandBox(command.text)] : null);
  }

  function raw(report) {
    const json = JSON.stringify(report, null, 2);
    const save = el("button", { type: "button", class: "button small secondary" }, "Download JSON");
    save.addEventListener("click", () => {
      const a = el("a", { href: URL.createObjectURL(new Blob([json], { type: "application/json" })), download: "report.json" });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
    return el("details", { class: "card" }, el("summary", { text: "The report as JSON (as logclassify --format json)" }),
      el("p", {}, save), el("pre", {}, el("code", { text: json })));
  }
})();
