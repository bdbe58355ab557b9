// Loaded on every page: theme switch, mobile menu, profile menu, flashes, copy buttons, forms.
import { enhanceForms } from "./forms.js";

const YEAR = 365 * 24 * 3600;

function enhanceThemeSwitch() {
  for (const form of document.querySelectorAll("[data-theme-switch]")) {
    form.addEventListener("submit", (event) => {
      const theme = event.submitter?.value;
      if (!theme) return;
      event.preventDefault();
      document.documentElement.dataset.theme = theme;
      document.cookie = `tr_theme=${theme}; path=/; max-age=${YEAR}; samesite=lax`;
      for (const button of document.querySelectorAll("[data-theme-switch] button[name=theme]")) {
        button.setAttribute("aria-pressed", String(button.value === theme));
      }
      for (const radio of document.querySelectorAll('input[name="theme"][type="radio"]')) radio.checked = radio.value === theme;
    });
  }
}

function enhanceSidebar() {
  const sidebar = document.querySelector("[data-sidebar]");
  const opener = document.querySelector("[data-open-sidebar]");
  if (!sidebar || !opener) return;
  const set = (open) => {
    sidebar.classList.toggle("is-open", open);
    opener.setAttribute("aria-expanded", String(open));
    if (open) sidebar.querySelector("a[aria-current], nav a")?.focus();
  };
  opener.addEventListener("click", (event) => { event.preventDefault(); set(true); });
  for (const closer of document.querySelectorAll("[data-close-sidebar]")) {
    closer.addEventListener("click", (event) => { event.preventDefault(); set(false); opener.focus(); });
  }
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && sidebar.classList.contains("is-open")) set(false); });
}

function enhanceMenus() {
  document.addEventListener("click", (event) => {
    for (const menu of document.querySelectorAll("details[data-menu][open]")) {
      if (!menu.contains(event.target)) menu.open = false;
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of document.querySelectorAll("details[data-menu][open]")) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  });
}

function enhanceFlashes() {
  for (const button of document.querySelectorAll("[data-flash] [data-dismiss]")) {
    button.hidden = false;
    button.addEventListener("click", () => button.closest("[data-flash]").remove());
  }
}

function enhanceCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const text = source?.value ?? source?.textContent ?? "";
      const label = button.querySelector(".btn-label");
      const before = label?.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        if (label) label.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        if (label) label.textContent = "Press Ctrl+C";
      }
      setTimeout(() => { if (label) label.textContent = before; }, 1800);
    });
  }
}

enhanceThemeSwitch();
enhanceSidebar();
enhanceMenus();
enhanceFlashes();
enhanceCopyButtons();
enhanceForms();
document.documentElement.classList.add("js");
