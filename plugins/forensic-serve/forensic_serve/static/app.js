// The forensic page: upload, verdict, heatmap overlays, DAAM block slider, face regions, streamed chat.
// Every string from the server (file names, model text, component names) goes into the page through
// textContent or attribute setters, never parsed as markup.
"use strict";

const state = { token: sessionStorage.getItem("forensic-token") || "", record: null, session: null, blobs: new Map() };
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function headers(extra) {
  const all = Object.assign({}, extra || {});
  if (state.token) all.Authorization = "Bearer " + state.token;
  return all;
}

async function failure(response) {
  let detail = response.status + " " + response.statusText;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) $("token-form").hidden = false;
  return new Error(detail);
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  if (!response.ok) throw await failure(response);
  return response;
}

// Artifacts are fetched with the token and shown from blob: URLs (an <img src> cannot send a header).
async function blobUrl(url) {
  if (!state.blobs.has(url)) {
    const response = await api(url);
    state.blobs.set(url, URL.createObjectURL(await response.blob()));
  }
  return state.blobs.get(url);
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("cannot decode " + src));
    image.src = src;
  });
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// A grey heatmap (0..255) coloured with a perceptual ramp (dark blue -> red -> yellow); transparent where cold.
function colour(value) {
  const v = value / 255;
  const r = Math.min(1, 1.8 * v);
  const g = Math.max(0, Math.min(1, 2.2 * v - 0.9));
  const b = Math.max(0, 0.6 - 1.2 * Math.abs(v - 0.25));
  return [255 * r, 255 * g, 255 * b, 255 * Math.min(1, 0.15 + 1.1 * v)];
}

async function paintHeat(canvas, url, width, height) {
  const image = await loadImage(await blobUrl(url));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.clearRect(0, 0, width, height);
  context.drawImage(image, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const rgba = colour(data[i]);
    data[i] = rgba[0]; data[i + 1] = rgba[1]; data[i + 2] = rgba[2]; data[i + 3] = rgba[3];
  }
  context.putImageData(pixels, 0, 0);
}

function frameSize() {
  const image = state.baseImage;
  return image ? [image.naturalWidth, image.naturalHeight] : [state.frame.width, state.frame.height];
}

function paintFaces(record) {
  const canvas = $("faces");
  [canvas.width, canvas.height] = frameSize();
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!$("show-faces").checked) return;
  context.setTransform(state.scale, 0, 0, state.scale, 0, 0);
  context.lineWidth = Math.max(2, record.width / 200);
  context.strokeStyle = "#00e5ff";
  context.fillStyle = "#00e5ff";
  context.font = Math.max(12, record.width / 30) + "px sans-serif";
  for (const face of record.faces || []) {
    const [x0, y0, x1, y1] = face.box;
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    context.fillText("face " + face.index, x0 + 3, Math.max(12, y0 - 4));
  }
}

function showVerdict(record) {
  const list = $("verdict");
  list.replaceChildren();
  for (const detection of record.detections || []) {
    const item = el("li");
    item.append(el("strong", detection.component + ": "), el("span", detection.label, "label " + detection.label));
    item.append(el("span", " forgery score " + detection.score.toFixed(2) + " (threshold " + detection.threshold.toFixed(2) + ")"));
    list.append(item);
  }
  if (!list.children.length) list.append(el("li", "No detector in this pipeline."));
  const notes = [];
  if (record.status !== "ok" && record.error) notes.push(record.error);
  for (const detection of record.detections || []) {
    if (detection.details && typeof detection.details.note === "string") notes.push(detection.component + ": " + detection.details.note);
  }
  $("notes").textContent = notes.join(" ");
}

function showRegions(record) {
  const body = $("regions").querySelector("tbody");
  body.replaceChildren();
  for (const region of record.regions || []) {
    const row = el("tr");
    row.append(el("td", region.face_index), el("td", region.region.replace(/_/g, " ")), el("td", region.component));
    row.append(el("td", region.score.toFixed(2), "num"));
    body.append(row);
  }
  $("no-regions").hidden = body.children.length > 0;
  $("regions").hidden = body.children.length === 0;
}

async function showLocalization() {
  const chosen = (state.frame.localizations || [])[Number($("localizer").value)];
  const viewer = $("viewer");
  viewer.dataset.ready = "";
  if (chosen) {
    const [width, height] = frameSize();
    await paintHeat($("heat"), chosen.heatmap, width, height);
    viewer.dataset.localizer = chosen.component;
  }
  $("heat").style.opacity = $("opacity").value / 100;
  viewer.dataset.ready = "yes";
}

function blockMaps(explanation) {
  const found = [];
  for (const [name, url] of Object.entries(explanation.maps || {})) {
    const match = /block (\d+)$/.exec(name);
    if (match) found.push({ block: Number(match[1]), url });
  }
  return found.sort((a, b) => a.block - b.block);
}

function faceBox(explanation) {
  if (explanation.face_index === null || explanation.face_index === undefined) return null;
  const face = (state.frame.faces || []).find((f) => f.index === explanation.face_index);
  return face ? face.crop_box : null;
}

async function showBlock() {
  const explanation = state.daam;
  const maps = blockMaps(explanation);
  const index = Number($("block").value);
  const chosen = maps.find((m) => m.block === index);
  const viewer = $("daam-viewer");
  viewer.dataset.ready = "";
  // a face-scoped explanation is shown on its face crop, the whole frame otherwise
  const box = faceBox(explanation) || [0, 0, state.frame.width, state.frame.height];
  const [x0, y0, x1, y1] = box.map((v) => Math.round(v * state.scale));
  const base = $("daam-base");
  if (state.baseImage && !base.dataset.drawn) {
    base.width = x1 - x0;
    base.height = y1 - y0;
    base.getContext("2d").drawImage(state.baseImage, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
    base.dataset.drawn = "yes";
  }
  if (chosen) await paintHeat($("daam-heat"), chosen.url, x1 - x0, y1 - y0);
  $("daam-heat").style.opacity = 0.6;
  const share = (explanation.details && explanation.details.block_share) || [];
  const added = typeof share[index - 1] === "number" ? ", this block adds " + Math.round(100 * share[index - 1]) + "% of the evidence" : "";
  $("block-label").textContent = "D" + index + " of " + maps.length + added;
  viewer.dataset.block = String(index);
  viewer.dataset.ready = "yes";
}

async function showExplanation(record) {
  const withBlocks = (record.explanations || []).find((e) => blockMaps(e).length > 0);
  state.daam = withBlocks || null;
  $("daam-panel").hidden = !withBlocks;
  $("no-daam").hidden = Boolean(withBlocks);
  if (!withBlocks) return;
  const maps = blockMaps(withBlocks);
  $("block").max = String(maps.length);
  $("block").value = String(maps.length);
  $("daam-text").textContent = withBlocks.text || "";
  const flow = (withBlocks.figures || []).find((f) => f.path.endsWith(".gif"));
  $("daam-flow").hidden = !flow;
  if (flow) {
    $("daam-gif").src = await blobUrl(flow.path);
    $("daam-caption").textContent = flow.caption || "";
  }
  await showBlock();
}

// A video's maps belong to its frames: the page shows its most suspicious frame (as the dialog does).
function focusFrame(record) {
  const frames = record.frames || [];
  if (!frames.length) return record;
  const score = (frame) => Math.max(0, ...(frame.detections || []).map((d) => d.score));
  return frames.reduce((best, frame) => (score(frame) > score(best) ? frame : best), frames[0]);
}

async function show(record) {
  const frame = focusFrame(record);
  state.record = record;
  state.frame = frame;
  state.session = null;
  $("chat-log").replaceChildren();
  $("result").hidden = false;
  showVerdict(record);
  showRegions(frame);
  const select = $("localizer");
  select.replaceChildren();
  (frame.localizations || []).forEach((loc, index) => {
    const option = el("option", loc.component);
    option.value = String(index);
    select.append(option);
  });
  const preview = frame.preview || record.preview;
  const base = preview ? await blobUrl(preview) : "";
  $("base").src = base;
  state.baseImage = base ? await loadImage(base) : null;
  state.scale = state.baseImage ? state.baseImage.naturalWidth / frame.width : 1;
  $("daam-base").dataset.drawn = "";
  paintFaces(frame);
  await showLocalization();
  await showExplanation(frame);
}

async function analyse(file) {
  status("Analysing " + file.name + " ...");
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const response = await api("/v1/analyze", { method: "POST", body: form });
    const record = await response.json();
    await show(record);
    status(record.source + ": analysed (" + record.id + ")");
  } catch (error) {
    status(error.message, true);
  }
}

function parseEvents(buffer, handle) {
  let rest = buffer.replace(/\r\n/g, "\n");
  let cut;
  while ((cut = rest.indexOf("\n\n")) >= 0) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) handle(event, JSON.parse(data.join("\n")));
  }
  return rest;
}

function finishAnswer(turn, text, answer) {
  text.textContent = answer.content;
  if ((answer.evidence || []).length) {
    const list = el("ol", null, "evidence");
    for (const item of answer.evidence) list.append(el("li", item.text));
    turn.append(list);
  }
  for (const action of answer.actions || []) turn.append(el("div", "ran: " + action, "note"));
  turn.dataset.state = "done";
}

async function ask(question) {
  const log = $("chat-log");
  log.append(el("div", question, "turn user"));
  const turn = el("div", null, "turn assistant");
  const text = el("span");
  turn.append(text);
  log.append(turn);
  try {
    if (!state.session) {
      const response = await api("/v1/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ analysis: state.record.id }),
      });
      state.session = (await response.json()).id;
    }
    const response = await api("/v1/sessions/" + encodeURIComponent(state.session) + "/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ content: question }),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    while (!finished) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), (event, payload) => {
        if (event === "token") { text.textContent += payload.text; turn.dataset.state = "streaming"; }
        else if (event === "message") { finishAnswer(turn, text, payload); finished = true; }
        else if (event === "error") { throw new Error(payload.detail); }
      });
      log.scrollTop = log.scrollHeight;
    }
    if (!finished) throw new Error("the answer stream ended early");
  } catch (error) {
    turn.className = "turn error";
    text.textContent = error.message;
    turn.dataset.state = "error";
  }
}

function wire() {
  if (state.token) $("token").value = state.token;
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("forensic-token", state.token);
    $("token-form").hidden = true;
    status("Token set; pick the file again.");
  });
  $("file").addEventListener("change", () => { if ($("file").files.length) analyse($("file").files[0]); });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) analyse(event.dataTransfer.files[0]);
  });
  $("opacity").addEventListener("input", () => { $("heat").style.opacity = $("opacity").value / 100; });
  $("localizer").addEventListener("change", () => showLocalization().catch((e) => status(e.message, true)));
  $("show-faces").addEventListener("change", () => state.frame && paintFaces(state.frame));
  $("block").addEventListener("input", () => showBlock().catch((e) => status(e.message, true)));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question || !state.record) return;
    $("question").value = "";
    ask(question);
  });
}

document.addEventListener("DOMContentLoaded", wire);
