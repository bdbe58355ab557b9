// Usage: offer the browser's own time zone, and apply the period and zone as soon as they change.
const form = document.querySelector("[data-usage-form]");
if (form) {
  const select = form.querySelector("[data-tz-select]");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && ![...select.options].some((option) => option.value === zone)) {
    select.add(new Option(`${zone} (this device)`, zone), 1);
  }
  const url = new URL(window.location.href);
  if (zone && !url.searchParams.has("tz") && select.value !== zone) {
    select.value = zone;
    form.requestSubmit();
  }
  form.querySelector("[data-usage-apply]").hidden = true;
  form.addEventListener("change", () => form.requestSubmit());
}
