// The landing page: switch demo pairs in place, and price the calculator live from the API.
import { api } from "./api.js";

function money(amount, currency) {
  return new Intl.NumberFormat("en-IN", { style: "currency", currency }).format(amount / 100);
}

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

function enhanceCalculator() {
  const form = document.querySelector("[data-calculator]");
  if (!form) return;
  const range = form.querySelector("[data-credits-range]");
  const input = form.querySelector("[data-credits-input]");
  const out = form.querySelector("[data-credits-out]");
  const notice = form.querySelector("[data-calc-notice]");
  const badge = form.querySelector("[data-discount-badge]");
  range.hidden = false;
  form.querySelector("[data-range-scale]").hidden = false;
  form.querySelector("[data-calc-submit]").hidden = true;
  let timer = 0;
  let sequence = 0;

  async function price(credits) {
    const run = ++sequence;
    try {
      const quote = await api(`/api/v1/pricing/calculate?credits=${credits}`);
      if (run !== sequence) return;
      notice.hidden = true;
      out.textContent = quote.credits.toLocaleString("en-IN");
      form.querySelector("[data-quote-subtotal]").textContent = money(quote.subtotal, quote.currency);
      form.querySelector("[data-quote-discount]").textContent = `− ${money(quote.discount, quote.currency)}`;
      form.querySelector("[data-quote-tax]").textContent = money(quote.tax, quote.currency);
      form.querySelector("[data-quote-tax-percent]").textContent = `${quote.tax_percent.toFixed(2).replace(/\.?0+$/, "")}%`;
      form.querySelector("[data-quote-amount]").textContent = money(quote.amount, quote.currency);
      form.querySelector("[data-quote-each]").textContent = money(Math.floor(quote.amount / quote.credits), quote.currency);
      badge.hidden = !quote.discount_percent;
      badge.textContent = `${quote.discount_percent.toFixed(2).replace(/\.?0+$/, "")}% off`;
    } catch (error) {
      if (run !== sequence) return;
      notice.textContent = error.message;
      notice.hidden = false;
    }
  }

  const schedule = (credits) => {
    clearTimeout(timer);
    timer = setTimeout(() => price(credits), 120);
  };
  range.addEventListener("input", () => {
    input.value = range.value;
    out.textContent = Number(range.value).toLocaleString("en-IN");
    schedule(range.value);
  });
  input.addEventListener("input", () => {
    const value = Number(input.value);
    if (!Number.isInteger(value) || value < Number(input.min) || value > Number(input.max)) {
      notice.textContent = `Choose between ${Number(input.min).toLocaleString("en-IN")} and ${Number(input.max).toLocaleString("en-IN")} credits.`;
      notice.hidden = false;
      return;
    }
    range.value = String(value);
    schedule(value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    price(input.value);
  });
}

enhanceDemo();
enhanceCalculator();
