// Billing: the custom-amount calculator prices live; its button buys (the form posts to checkout).
import { enhanceCalculator } from "../calculator.js";

const form = document.querySelector("[data-calculator]");
if (form) enhanceCalculator(form, { buying: true });
