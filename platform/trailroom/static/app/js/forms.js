// Progressive enhancement of the server-rendered forms: inline validation on blur and submit,
// a loading state on the submit button, password reveal and the strength meter.
import { checkPassword } from "./password-rules.js";

const STRENGTH = ["", "Too weak", "Fair", "Good", "Strong"];

function showError(input, message) {
  const form = input.form;
  const box = form?.querySelector(`[data-error-for="${CSS.escape(input.name)}"]`);
  const field = input.closest(".field");
  if (box) {
    box.textContent = message;
    box.hidden = !message;
  }
  field?.classList.toggle("has-error", Boolean(message));
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function messageFor(input) {
  const v = input.validity;
  if (v.valid) return "";
  const label = input.closest(".field")?.querySelector("label")?.textContent?.trim() || "This field";
  if (v.valueMissing) return input.type === "checkbox" ? input.dataset.required || "Tick this box to continue." : `${label} is required.`;
  if (v.typeMismatch && input.type === "email") return "Enter a valid email address.";
  if (v.typeMismatch && input.type === "url") return "Enter a full address, like https://shop.example.";
  if (v.tooShort) return `Use at least ${input.minLength} characters.`;
  if (v.tooLong) return `Use at most ${input.maxLength} characters.`;
  return input.validationMessage;
}

function passwordContext(input) {
  const form = input.form;
  return {
    email: form?.querySelector('[name="email"]')?.value || document.body.dataset.userEmail || "",
    name: form?.querySelector('[name="name"]')?.value || document.body.dataset.userName || "",
  };
}

function validate(input) {
  // New passwords get the server's own wording for its rules; other fields the browser's checks.
  const rules = input.dataset.strength && input.value ? checkPassword(input.value, passwordContext(input)).problem : "";
  const message = rules || messageFor(input);
  showError(input, message);
  return !message;
}

function updateStrength(input) {
  const meter = document.getElementById(input.dataset.strength);
  if (!meter) return;
  meter.hidden = false;
  const { rules, score } = checkPassword(input.value, passwordContext(input));
  meter.dataset.score = String(score);
  meter.querySelector(".strength-text").textContent = input.value ? `Strength: ${STRENGTH[score]}` : "";
  for (const item of meter.querySelectorAll("[data-rule]")) item.classList.toggle("ok", Boolean(input.value) && rules[item.dataset.rule]);
}

// `data-show-if="kind=publishable"`: shown only while the form's field `kind` has that value
// (without script every field shows, and the server checks the combination).
function enhanceConditionalFields(root) {
  for (const element of root.querySelectorAll("[data-show-if]")) {
    const [name, value] = element.dataset.showIf.split("=");
    const form = element.closest("form");
    const update = () => {
      const chosen = form.querySelector(`[name="${CSS.escape(name)}"]:checked`)?.value ?? form.elements[name]?.value;
      element.hidden = chosen !== value;
    };
    form.addEventListener("change", update);
    update();
  }
}

export function enhanceForms(root = document) {
  enhanceConditionalFields(root);
  for (const button of root.querySelectorAll("[data-reveal]")) {
    const input = document.getElementById(button.dataset.reveal);
    button.hidden = false;
    button.addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", String(show));
      button.setAttribute("aria-label", show ? "Hide password" : "Show password");
      button.querySelector('[data-when="hidden"]').hidden = show;
      button.querySelector('[data-when="shown"]').hidden = !show;
    });
  }
  for (const input of root.querySelectorAll("[data-strength]")) {
    input.addEventListener("input", () => updateStrength(input));
    if (input.value) updateStrength(input);
  }
  for (const form of root.querySelectorAll("form")) {
    if (form.dataset.enhanced) continue;
    form.dataset.enhanced = "1";
    const inputs = () => [...form.querySelectorAll("input, textarea, select")].filter((i) => i.name && i.type !== "hidden");
    for (const input of inputs()) {
      input.addEventListener("blur", (event) => {
        // Leaving the field for the submit button: the submit validates everything, and an error
        // shown now would move the button away from under the pointer.
        if (event.relatedTarget?.type === "submit" && event.relatedTarget.form === form) return;
        if (input.value) validate(input);
      });
      input.addEventListener("input", () => { if (input.getAttribute("aria-invalid")) validate(input); });
      input.addEventListener("change", () => { if (input.type === "checkbox") validate(input); });
    }
    if (form.hasAttribute("novalidate") || form.querySelector('[data-error-for]')) {
      form.noValidate = true;
      form.addEventListener("submit", (event) => {
        const invalid = inputs().filter((input) => !validate(input));
        if (invalid.length) {
          event.preventDefault();
          invalid[0].focus();
        }
      });
    }
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      const message = event.submitter?.dataset.confirm;
      if (message) {
        if (!window.confirm(message)) {
          event.preventDefault();
          return;
        }
        // Asked here already: the server's confirmation page (the no-script path) is skipped.
        const confirmed = document.createElement("input");
        Object.assign(confirmed, { type: "hidden", name: "confirm", value: "yes" });
        form.append(confirmed);
      }
      const button = event.submitter?.type === "submit" ? event.submitter : form.querySelector('button[type="submit"]');
      if (button?.dataset.loadingText) {
        button.classList.add("is-loading");
        button.setAttribute("aria-busy", "true");
        const label = button.querySelector(".btn-label");
        if (label) label.textContent = button.dataset.loadingText;
      }
    });
  }
}
