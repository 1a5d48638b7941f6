// The sampler page (common.sampler): /info says which program the run is of, and the page
// shows that program's section. Images come back from the server as base64 PNGs.
"use strict";

function fillGrid(element, images, columns, titles) {
  element.replaceChildren(...images.map((image, i) =>
    imageElement(image, titles ? titles[i] : undefined)));
  element.style.gridTemplateColumns = `repeat(${columns}, auto)`;
  return Array.from(element.children);
}

function fillRow(element, label, images) {
  const caption = document.createElement("span");
  caption.className = "label";
  caption.textContent = label;
  element.replaceChildren(caption, ...images.map((image) => imageElement(image)));
}

// The seed of a section's latents: drawn anew, and `draw` run, when `button` is clicked.
function resampling(button, draw) {
  const latents = {seed: randomSeed()};
  document.getElementById(button).addEventListener("click", () => {
    latents.seed = randomSeed();
    run(draw);
  });
  return latents;
}

// Runs `action`, showing "working" meanwhile, then its message (if any) or its error.
async function run(action) {
  showStatus("working\u2026", false);
  try {
    showStatus(await action() || "", false);
  } catch (error) {
    showStatus(`error: ${error.message}`, true);
  }
}

// ---- AC-GAN ----

function acgan(info) {
  const latents = resampling("acgan-resample", draw);
  const chosen = new Set([...Array(info.classes).keys()]);
  const buttons = [...Array(info.classes).keys()].map((k) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = k;
    button.className = "selected";
    button.addEventListener("click", () => {
      if (chosen.has(k) && chosen.size > 1) chosen.delete(k); else chosen.add(k);
      button.className = chosen.has(k) ? "selected" : "";
      run(draw);
    });
    return button;
  });
  document.getElementById("classes").replaceChildren(...buttons);
  async function draw() {
    const classes = [...chosen].sort((a, b) => a - b);
    const answer = await postJSON("/sample", {seed: latents.seed, rows: 8, classes});
    fillGrid(document.getElementById("acgan-grid"), answer.images, answer.columns,
             answer.images.map((_, i) => `class ${classes[i % classes.length]}`));
  }
  return draw;
}

// ---- DCGAN family ----

function dcgan(info) {
  const latents = resampling("dcgan-resample", draw);
  let picked = [0, 1];
  const count = info.conditional ? 20 : 16;
  document.getElementById("dcgan-conditional").hidden = !info.conditional;
  async function interpolate() {
    const answer = await postJSON("/interpolate", {seed: latents.seed, count, a: picked[0],
                                                b: picked[1]});
    fillRow(document.getElementById("dcgan-interpolation"),
            `sample ${picked[0]} \u2192 ${picked[1]}`, answer.images);
  }
  async function draw() {
    const answer = await postJSON("/sample", {seed: latents.seed, count});
    const cells = fillGrid(document.getElementById("dcgan-grid"), answer.images,
                           info.conditional ? 10 : 8);
    cells.forEach((cell, i) => {
      cell.classList.add("clickable");
      cell.classList.toggle("picked", picked.includes(i));
      cell.addEventListener("click", () => {
        picked = [picked[1], i];
        cells.forEach((c, j) => c.classList.toggle("picked", picked.includes(j)));
        run(interpolate);
      });
    });
    await interpolate();
  }
  return draw;
}

// ---- O-GAN ----

function ogan(info) {
  const latents = resampling("ogan-resample", samples);
  const pair = [info.real[0] || null, info.real[1] || null];
  let next = 0;  // which of the pair a click or an upload replaces
  async function interpolate() {
    if (pair[0] === null || pair[1] === null) {
      return `now upload ${pair[0] === null ? "A" : "B"}`;
    }
    cells.forEach((cell, i) => cell.classList.toggle("picked", pair.includes(info.real[i])));
    const answer = await postJSON("/interpolate", {a: pair[0], b: pair[1]});
    const [a, b] = [answer.images[0], answer.images[answer.images.length - 1]];  // resized
    fillRow(document.getElementById("ogan-reconstructions"), "A, G(E(A)), B, G(E(B))",
            [a, answer.reconstructions[0], b, answer.reconstructions[1]]);
    fillRow(document.getElementById("ogan-interpolation"), "A \u2192 B", answer.images);
  }
  function choose(image) {
    pair[next] = image;
    next = 1 - next;
    run(interpolate);
  }
  const cells = fillGrid(document.getElementById("ogan-real"), info.real, 12);
  cells.forEach((cell, i) => {
    cell.classList.add("clickable");
    cell.addEventListener("click", () => choose(info.real[i]));
  });
  ["a", "b"].forEach((key, index) => {
    document.getElementById(`ogan-upload-${key}`).addEventListener("change", (event) => {
      const file = event.target.files[0];
      event.target.value = "";
      if (!file) return;
      run(async () => {
        pair[index] = await readBase64(file);
        next = 1 - index;
        return interpolate();
      });
    });
  });
  async function samples() {
    const answer = await postJSON("/sample", {seed: latents.seed, count: 16});
    fillGrid(document.getElementById("ogan-samples"), answer.images, 8);
  }
  return async () => {
    await samples();
    return interpolate();
  };
}

const PROGRAMS = {acgan, dcgan, ogan};

run(async () => {
  const info = await getJSON("/info");
  document.title = `${info.title} sampler`;
  document.getElementById("title").textContent = `${info.title} sampler`;
  document.getElementById(info.program).hidden = false;
  return PROGRAMS[info.program](info)();
});
