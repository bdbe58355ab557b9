// The landing page: switch demo pairs in place, and the live credits calculator.
import { enhanceCalculator } from "./calculator.js";

function enhanceDemo() {
  const demo = document.querySelector("[data-demo]");
  if (!demo) return;
  const person = demo.querySelector("[data-demo-person]");
  const garment = demo.querySelector("[data-demo-garment]");
  const result = demo.querySelector("[data-demo-result]");
  const loading = demo.querySelector("[data-demo-loading]");
  const error = demo.querySelector("[data-demo-error]");
  const link = demo.querySelector("[data-demo-link]");
  let current = 0;

  async function show(tab) {
    const run = ++current;
    for (const other of demo.querySelectorAll("[data-demo-pair]")) other.setAttribute("aria-current", String(other === tab));
    person.src = tab.dataset.person;
    garment.src = tab.dataset.garment;
    garment.alt = `The garment: ${tab.textContent.trim()}`;
    link.href = tab.dataset.result;
    error.hidden = true;
    loading.hidden = false;
    try {
      const response = await fetch(tab.dataset.result, { credentials: "same-origin" });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(response.status === 429 ? "The demo is busy; try again in a moment." : problem.detail || "The demo could not render this pair.");
      }
      const url = URL.createObjectURL(await response.blob());
      if (run !== current) return;
      result.src = url;
      result.alt = `Try-on result: ${tab.textContent.trim()}`;
    } catch (failure) {
      if (run !== current) return;
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      if (run === current) loading.hidden = true;
    }
  }

  for (const tab of demo.querySelectorAll("[data-demo-pair]")) {
    tab.addEventListener("click", (event) => {
      event.preventDefault();
      show(tab);
    });
  }
  // The first result may still be rendering on a cold server: show progress until it arrives.
  if (!result.complete) {
    loading.hidden = false;
    result.addEventListener("load", () => { loading.hidden = true; }, { once: true });
    result.addEventListener("error", () => { loading.hidden = true; error.textContent = "The demo could not render this pair."; error.hidden = false; }, { once: true });
  }
}

enhanceDemo();
const calculator = document.querySelector("[data-calculator]");
if (calculator) enhanceCalculator(calculator);
