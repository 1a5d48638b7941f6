// What the project's pages share: JSON requests that surface the server's {"error": ...}
// line, base64 images, files read as base64. Served by common.webapp at /static/webapp.js.
"use strict";

async function postJSON(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(payload),
  });
  return answerOf(response);
}

async function getJSON(path) {
  return answerOf(await fetch(path));
}

async function answerOf(response) {
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    throw new Error(`${response.status} ${response.statusText}`);
  }
  if (!response.ok) {
    throw new Error(answer.error || `${response.status} ${response.statusText}`);
  }
  return answer;
}

// A base64 PNG or JPEG (the server's answers) as an <img> source.
function imageURL(base64) {
  return `data:${base64.startsWith("/9j/") ? "image/jpeg" : "image/png"};base64,${base64}`;
}

function imageElement(base64, title) {
  const image = document.createElement("img");
  image.src = imageURL(base64);
  if (title !== undefined) image.title = title;
  return image;
}

// A File's bytes as base64, as the endpoints take images.
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
    reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

function showStatus(text, isError) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function randomSeed() {
  return Math.floor(Math.random() * 2147483647);
}
