// Styles live in the shadow root as a constructable stylesheet: no <style> element and no style
// attribute, so pages with `style-src 'self'` (no 'unsafe-inline') need no exception.
// Public knobs are --trailroom-* custom properties set on the element or any ancestor.
export const CSS = `
:host {
  --_accent: var(--trailroom-accent, #1f5eff);
  --_on-accent: var(--trailroom-on-accent, #fff);
  --_bg: var(--trailroom-bg, #fff);
  --_fg: var(--trailroom-fg, #16181d);
  --_muted: var(--trailroom-muted, #5b6270);
  --_border: var(--trailroom-border, #d9dce3);
  --_surface: var(--trailroom-surface, #f4f5f8);
  --_error: var(--trailroom-error, #b42318);
  --_error-bg: var(--trailroom-error-bg, #fef3f2);
  --_backdrop: var(--trailroom-backdrop, rgb(15 17 22 / .6));
  --_radius: var(--trailroom-radius, 12px);
  --_font: var(--trailroom-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  display: inline-block;
  font-family: var(--_font);
}
:host([hidden]) { display: none; }
:host([theme="dark"]) {
  --_accent: var(--trailroom-dark-accent, #7aa2ff);
  --_on-accent: var(--trailroom-dark-on-accent, #0b1020);
  --_bg: var(--trailroom-dark-bg, #17191f);
  --_fg: var(--trailroom-dark-fg, #eceef3);
  --_muted: var(--trailroom-dark-muted, #a5abb8);
  --_border: var(--trailroom-dark-border, #343844);
  --_surface: var(--trailroom-dark-surface, #22252d);
  --_error: var(--trailroom-dark-error, #ffb4ab);
  --_error-bg: var(--trailroom-dark-error-bg, #3b1d1b);
  --_backdrop: var(--trailroom-dark-backdrop, rgb(0 0 0 / .7));
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) {
    --_accent: var(--trailroom-dark-accent, #7aa2ff);
    --_on-accent: var(--trailroom-dark-on-accent, #0b1020);
    --_bg: var(--trailroom-dark-bg, #17191f);
    --_fg: var(--trailroom-dark-fg, #eceef3);
    --_muted: var(--trailroom-dark-muted, #a5abb8);
    --_border: var(--trailroom-dark-border, #343844);
    --_surface: var(--trailroom-dark-surface, #22252d);
    --_error: var(--trailroom-dark-error, #ffb4ab);
    --_error-bg: var(--trailroom-dark-error-bg, #3b1d1b);
    --_backdrop: var(--trailroom-dark-backdrop, rgb(0 0 0 / .7));
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button, .btn {
  font: inherit; font-size: 15px; font-weight: 600; line-height: 1.2;
  display: inline-flex; align-items: center; justify-content: center; gap: 8px;
  min-height: 44px; padding: 10px 18px; border-radius: calc(var(--_radius) * .75);
  border: 1px solid transparent; cursor: pointer; text-decoration: none;
  background: var(--_accent); color: var(--_on-accent);
}
button:hover, .btn:hover { filter: brightness(1.08); }
button:focus-visible, .btn:focus-visible, input:focus-visible + label, .pick:focus-within {
  outline: 3px solid var(--_accent); outline-offset: 2px;
}
button:disabled { opacity: .5; cursor: not-allowed; filter: none; }
.secondary { background: transparent; color: var(--_fg); border-color: var(--_border); }
.launch { width: 100%; }
.launch svg { width: 18px; height: 18px; }
dialog {
  width: min(560px, calc(100vw - 16px)); max-height: calc(100dvh - 16px);
  padding: 0; border: 1px solid var(--_border); border-radius: var(--_radius);
  background: var(--_bg); color: var(--_fg); overflow: auto;
  box-shadow: 0 24px 64px rgb(0 0 0 / .28);
}
dialog::backdrop { background: var(--_backdrop); }
header { display: flex; align-items: center; justify-content: space-between; gap: 12px; padding: 16px 20px 0; }
h2 { margin: 0; font-size: 19px; line-height: 1.3; }
.close { background: transparent; color: var(--_fg); min-height: 40px; min-width: 40px; padding: 8px; font-size: 22px; line-height: 1; }
.body, section { display: grid; gap: 14px; }
.body { padding: 12px 20px 20px; }
.hint { font-size: 13px; text-align: center; }
p { margin: 0; line-height: 1.5; font-size: 15px; }
.muted { color: var(--_muted); }
.row { display: flex; flex-wrap: wrap; gap: 10px; }
.row > * { flex: 1 1 160px; }
.pick { position: relative; }
.pick input { position: absolute; inset: 0; opacity: 0; width: 100%; cursor: pointer; }
.pick label { pointer-events: none; width: 100%; }
.garment { display: flex; gap: 12px; align-items: center; padding: 10px; border-radius: calc(var(--_radius) * .75); background: var(--_surface); }
.garment img { width: 64px; height: 64px; object-fit: contain; border-radius: 8px; background: #fff; }
.frame {
  position: relative; border-radius: calc(var(--_radius) * .75); overflow: hidden;
  background: var(--_surface); display: grid; place-items: center; min-height: 180px;
}
.frame img { display: block; width: 100%; max-height: min(52dvh, 480px); object-fit: contain; }
.consent { display: flex; gap: 10px; align-items: flex-start; font-size: 14px; line-height: 1.45; color: var(--_muted); }
.consent input { width: 20px; height: 20px; margin: 1px 0 0; flex: none; accent-color: var(--_accent); }
.consent a { color: var(--_accent); }
.status { font-size: 15px; }
/* The live region is read out in every state but shown only while the try-on is being made. */
dialog:not([data-state="progress"]) .status {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
.pending img { opacity: .55; filter: saturate(.6); }
.bar { height: 6px; border-radius: 3px; background: var(--_surface); overflow: hidden; }
.bar::after { content: ""; display: block; height: 100%; width: 40%; border-radius: 3px; background: var(--_accent); animation: slide 1.4s ease-in-out infinite; }
@keyframes slide { from { transform: translateX(-100%); } to { transform: translateX(250%); } }
@media (prefers-reduced-motion: reduce) { .bar::after { animation: none; width: 100%; opacity: .5; } }
/* The comparison frame is exactly the image's box, so the slider's range is the photo's width. */
.compare { --pos: 50%; position: relative; display: block; width: fit-content; max-width: 100%; margin-inline: auto; min-height: 0; }
.compare img { width: auto; max-width: 100%; }
.compare .before { position: absolute; inset: 0; height: 100%; clip-path: inset(0 calc(100% - var(--pos)) 0 0); }
.compare .divider { position: absolute; top: 0; bottom: 0; left: var(--pos); width: 2px; margin-left: -1px; background: #fff; box-shadow: 0 0 0 1px rgb(0 0 0 / .25); pointer-events: none; }
.compare .divider::after {
  content: "\\2194"; position: absolute; top: 50%; left: 50%; transform: translate(-50%, -50%);
  width: 34px; height: 34px; border-radius: 50%; display: grid; place-items: center;
  background: #fff; color: #16181d; font-size: 18px; box-shadow: 0 2px 8px rgb(0 0 0 / .3);
}
.compare input { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0; cursor: ew-resize; }
.compare:has(input:focus-visible) { outline: 3px solid var(--_accent); outline-offset: 2px; }
.tag { position: absolute; top: 10px; padding: 3px 8px; border-radius: 6px; font-size: 12px; font-weight: 600; background: rgb(0 0 0 / .55); color: #fff; pointer-events: none; }
.tag.b { left: 10px; } .tag.a { right: 10px; }
.error { padding: 12px 14px; border-radius: calc(var(--_radius) * .75); background: var(--_error-bg); color: var(--_error); border: 1px solid currentColor; }
@media (max-width: 420px) {
  header { padding: 12px 14px 0; }
  .body { padding: 10px 14px 14px; }
  .row > * { flex-basis: 100%; }
}
`;
