"use strict";
// Minimal grid: one live tile per camera, updated from the event stream.
const main = document.getElementById("main");
const tiles = new Map();
function tile(cam) {
  let t = tiles.get(cam.id);
  if (!t) {
    t = document.createElement("section");
    t.className = "tile";
    t.innerHTML = '<h2></h2><img alt=""><p><span class="badge"></span> <span class="meta"></span></p>';
    t.querySelector("img").src = cam.stream;
    t.querySelector("img").alt = "Live view of " + cam.name;
    main.appendChild(t);
    tiles.set(cam.id, t);
  }
  t.querySelector("h2").textContent = cam.name;
  t.querySelector(".badge").textContent = cam.status.replace("_", " ");
  const fps = cam.state ? cam.state.fps : 0;
  t.querySelector(".meta").textContent = cam.protocol + " · " + fps + " fps";
}
const events = new EventSource("api/events");
events.addEventListener("camera", (e) => tile(JSON.parse(e.data)));
events.addEventListener("removed", (e) => {
  const id = JSON.parse(e.data).id;
  const t = tiles.get(id);
  if (t) { t.remove(); tiles.delete(id); }
});
