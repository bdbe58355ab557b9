// The image viewer: a <dialog> with the picture, zoom (click the image, or the zoom button), the
// browser's full-screen mode and a download link. Markup: templates/app/_viewer.html.

const dialog = () => document.getElementById("image-viewer");

export function openViewer(src, { title = "Try-on result", downloadName = "tryon.png" } = {}) {
  const viewer = dialog();
  if (!viewer) return;
  const image = viewer.querySelector("[data-viewer-image]");
  image.src = src;
  image.alt = title;
  viewer.querySelector("[data-viewer-title]").textContent = title;
  const download = viewer.querySelector("[data-viewer-download]");
  download.href = src;
  download.setAttribute("download", downloadName);
  setZoom(viewer, false);
  viewer.showModal();
}

function setZoom(viewer, zoomed, event) {
  const image = viewer.querySelector("[data-viewer-image]");
  const frame = viewer.querySelector("[data-viewer-frame]");
  frame.classList.toggle("is-zoomed", zoomed);
  viewer.querySelector("[data-viewer-zoom]").setAttribute("aria-pressed", String(zoomed));
  if (zoomed && event) {
    const box = image.getBoundingClientRect();
    // CSSOM, not a style attribute: allowed by the Content-Security-Policy.
    image.style.transformOrigin = `${((event.clientX - box.left) / box.width) * 100}% ${((event.clientY - box.top) / box.height) * 100}%`;
  } else if (!zoomed) {
    image.style.transformOrigin = "center";
  }
}

export function initViewer() {
  const viewer = dialog();
  if (!viewer || viewer.dataset.ready) return;
  viewer.dataset.ready = "1";
  const frame = viewer.querySelector("[data-viewer-frame]");
  viewer.querySelector("[data-viewer-image]").addEventListener("click", (event) => {
    setZoom(viewer, !frame.classList.contains("is-zoomed"), event);
  });
  viewer.querySelector("[data-viewer-zoom]").addEventListener("click", () => {
    setZoom(viewer, !frame.classList.contains("is-zoomed"));
  });
  viewer.querySelector("[data-viewer-close]").addEventListener("click", () => viewer.close());
  const full = viewer.querySelector("[data-viewer-fullscreen]");
  if (!document.fullscreenEnabled) full.hidden = true;
  full.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else viewer.requestFullscreen().catch(() => {});
  });
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close(); // a click on the backdrop
  });
  viewer.addEventListener("close", () => {
    if (document.fullscreenElement) document.exitFullscreen();
  });
}
