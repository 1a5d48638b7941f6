// The pix2pix page: the original editor's pen, eraser and clear on a 256x256 canvas, an
// upload, and POST /translate after every stroke. Requests go one at a time; an input made
// while one is on its way waits, and only the newest waiting one is sent.
"use strict";

const canvas = document.getElementById("input");
const context = canvas.getContext("2d");
const output = document.getElementById("output");
let last = null;          // the pointer's previous point while drawing
let busy = false;         // a request is on its way
let waiting = null;       // the newest input made meanwhile (base64)

function clearCanvas() {
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

function tool() {
  return document.querySelector("input[name=tool]:checked").value;
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function stroke(from, to) {
  const width = Number(document.getElementById("width").value);
  context.strokeStyle = tool() === "pen" ? document.getElementById("colour").value : "#ffffff";
  context.lineWidth = tool() === "pen" ? width : 4 * width;
  context.lineCap = context.lineJoin = "round";
  context.beginPath();
  context.moveTo(...from);
  context.lineTo(...to);
  context.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId);
  last = point(event);
  stroke(last, last);
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  const next = point(event);
  stroke(last, next);
  last = next;
});
for (const name of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(name, () => {
    if (last === null) return;
    last = null;
    translateCanvas();
  });
}

function translateCanvas() {
  const url = canvas.toDataURL("image/png");
  translate(url.slice(url.indexOf(",") + 1));
}

async function translate(base64) {
  if (busy) {
    waiting = base64;
    return;
  }
  busy = true;
  showStatus("translating\u2026", false);
  const start = performance.now();
  try {
    const answer = await postJSON("/translate", {input: base64});
    output.src = imageURL(answer.output);
    await output.decode();
    output.dataset.count = Number(output.dataset.count) + 1;
    showStatus(`translated in ${Math.round(performance.now() - start)} ms`, false);
  } catch (error) {
    showStatus(`error: ${error.message}`, true);
  }
  busy = false;
  if (waiting !== null) {
    const next = waiting;
    waiting = null;
    translate(next);
  }
}

// An upload is shown on the canvas (stretched to 256x256, as the server resizes it), so it
// can be drawn over; its own bytes go to the server, which resizes them (bicubic).
document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  } catch (error) {
    clearCanvas();  // the browser cannot show it; the server says why it cannot read it
  }
  try {
    translate(await readBase64(file));
  } catch (error) {
    showStatus(`error: ${error.message}`, true);
  }
});
document.getElementById("clear").addEventListener("click", clearCanvas);
document.getElementById("translate").addEventListener("click", translateCanvas);
clearCanvas();
