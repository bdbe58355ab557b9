// The credits calculator (landing and billing pages): a slider and a number, priced live by the API.
import { api } from "./api.js";

function money(amount, currency) {
  return new Intl.NumberFormat("en-IN", { style: "currency", currency }).format(amount / 100);
}

export function enhanceCalculator(form, { buying = false } = {}) {
  const range = form.querySelector("[data-credits-range]");
  const input = form.querySelector("[data-credits-input]");
  const out = form.querySelector("[data-credits-out]");
  const notice = form.querySelector("[data-calc-notice]");
  const badge = form.querySelector("[data-discount-badge]");
  range.hidden = false;
  form.querySelector("[data-range-scale]").hidden = false;
  // On the landing page the button only re-prices (done live here); on billing it buys.
  if (!buying) form.querySelector("[data-calc-submit]").hidden = true;
  const buyLabel = form.querySelector("[data-buy-label]");
  let timer = 0;
  let sequence = 0;

  async function price(credits) {
    const run = ++sequence;
    try {
      const quote = await api(`/api/v1/pricing/calculate?credits=${credits}`);
      if (run !== sequence) return;
      notice.hidden = true;
      out.textContent = quote.credits.toLocaleString("en-IN");
      if (buyLabel) buyLabel.textContent = `Buy ${quote.credits.toLocaleString("en-IN")} credits`;
      form.querySelector("[data-quote-subtotal]").textContent = money(quote.subtotal, quote.currency);
      form.querySelector("[data-quote-discount]").textContent = `− ${money(quote.discount, quote.currency)}`;
      form.querySelector("[data-quote-taxable]").textContent = money(quote.taxable, quote.currency);
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
  if (!buying) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      price(input.value);
    });
  }
}
