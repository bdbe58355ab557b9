// The documentation pages: copy buttons on code blocks, and results while typing in the search box.
// Without this module the pages still work: code can be selected by hand, and the search form
// submits to /docs/search, which answers the same results from the server.

const COPIED_MS = 1800;
const LIVE_LIMIT = 8;

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP pages (a dev server on a LAN address) have no clipboard API: copy a selection.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

function enhanceCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy-code]")) {
    const code = button.closest(".code-block")?.querySelector("pre code");
    if (!code) continue;
    button.hidden = false;
    button.setAttribute("aria-label", "Copy code");
    let timer = 0;
    button.addEventListener("click", async () => {
      try {
        await copyText(code.textContent);
        button.textContent = "Copied";
        button.classList.add("is-copied");
      } catch {
        button.textContent = "Press Ctrl+C";
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        button.textContent = "Copy";
        button.classList.remove("is-copied");
      }, COPIED_MS);
    });
  }
}

// -- live search ------------------------------------------------------------------------------------

function termsOf(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}_][\p{L}\p{N}_.\-/]*/gu) || [];
  return [...new Set(words)].slice(0, 8);
}

function count(text, term) {
  let n = 0;
  for (let at = text.indexOf(term); at !== -1 && n < 5; at = text.indexOf(term, at + term.length)) n += 1;
  return n;
}

// The same ranking as the server (trailroom/web/docs.py): every word must appear; the page title
// counts most, then the section's heading, then each appearance in the text.
function rank(entries, terms) {
  const hits = [];
  for (const entry of entries) {
    let score = 0;
    let all = true;
    for (const term of terms) {
      const inTitle = entry.pageLower.includes(term);
      const inHeading = entry.headingLower.includes(term);
      const times = count(entry.textLower, term);
      if (!inTitle && !inHeading && !times) { all = false; break; }
      score += 10 * inTitle + 8 * inHeading + times;
    }
    if (all) hits.push({ entry, score });
  }
  hits.sort((a, b) => b.score - a.score || a.entry.order - b.entry.order);
  return hits.slice(0, LIVE_LIMIT);
}

function excerpt(text, terms) {
  const lower = text.toLowerCase();
  const positions = terms.map((t) => lower.indexOf(t)).filter((p) => p >= 0);
  const first = positions.length ? Math.min(...positions) : 0;
  const start = Math.max(0, first - 24);
  return (start > 0 ? "…" : "") + text.slice(start, start + 120);
}

function marked(text, terms) {
  // Build nodes, never HTML strings: the text is data.
  const fragment = document.createDocumentFragment();
  const pattern = terms.length
    ? new RegExp([...terms].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi")
    : null;
  let last = 0;
  if (pattern) {
    for (const match of text.matchAll(pattern)) {
      fragment.append(text.slice(last, match.index));
      const mark = document.createElement("mark");
      mark.textContent = match[0];
      fragment.append(mark);
      last = match.index + match[0].length;
    }
  }
  fragment.append(text.slice(last));
  return fragment;
}

function enhanceSearch() {
  const form = document.querySelector("[data-docs-search]");
  const input = form?.querySelector("[data-docs-search-input]");
  const panel = form?.querySelector("[data-docs-live]");
  if (!form || !input || !panel) return;
  const list = panel.querySelector("[data-docs-live-list]");
  const status = panel.querySelector("[data-docs-live-status]");
  let index = null;
  let loading = null;

  const load = () => {
    loading ||= fetch("/docs/search.json", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : []))
      .then((entries) => {
        index = entries.map((e) => ({
          ...e,
          order: Number(e.order),
          pageLower: e.page.toLowerCase(),
          headingLower: e.heading.toLowerCase(),
          textLower: e.text.toLowerCase(),
        }));
      })
      .catch(() => { index = []; });
    return loading;
  };

  const close = () => { panel.hidden = true; };

  const show = async () => {
    const query = input.value.trim();
    const terms = termsOf(query);
    if (!terms.length) { close(); return; }
    await load();
    if (input.value.trim() !== query) return; // typed on meanwhile
    const hits = rank(index, terms);
    list.replaceChildren(
      ...hits.map(({ entry }) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = entry.url;
        const page = document.createElement("span");
        page.className = "docs-live-page";
        page.textContent = entry.page;
        const heading = document.createElement("span");
        heading.append(marked(entry.heading, terms));
        const text = document.createElement("span");
        text.className = "docs-live-text";
        text.append(marked(excerpt(entry.text, terms), terms));
        link.append(page, heading, text);
        item.append(link);
        return item;
      }),
    );
    status.textContent = hits.length
      ? `${hits.length === LIVE_LIMIT ? "Top " : ""}${hits.length} result${hits.length === 1 ? "" : "s"}; Enter for all`
      : `No results for “${query}”`;
    panel.hidden = false;
  };

  input.addEventListener("focus", load, { once: true });
  input.addEventListener("input", show);
  input.addEventListener("keydown", (event) => {
    const links = [...list.querySelectorAll("a")];
    if (event.key === "Escape") close();
    if (event.key === "ArrowDown" && links.length) { event.preventDefault(); links[0].focus(); }
  });
  list.addEventListener("keydown", (event) => {
    const links = [...list.querySelectorAll("a")];
    const at = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < links.length - 1) { event.preventDefault(); links[at + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? links[at - 1] : input).focus(); }
    if (event.key === "Escape") { close(); input.focus(); }
  });
  document.addEventListener("click", (event) => { if (!form.contains(event.target)) close(); });
}

// -- where am I ------------------------------------------------------------------------------------

// The contents column marks the section being read.
function followSections() {
  const links = new Map(
    [...document.querySelectorAll(".docs-toc a[href^='#']")].map((link) => [decodeURIComponent(link.hash.slice(1)), link]),
  );
  const headings = [...links.keys()].map((id) => document.getElementById(id)).filter(Boolean);
  if (!headings.length || !("IntersectionObserver" in window)) return;
  const visible = new Set();
  const mark = () => {
    const current = headings.find((h) => visible.has(h)) ?? null;
    for (const [id, link] of links) {
      if (current && id === current.id) link.setAttribute("aria-current", "location");
      else link.removeAttribute("aria-current");
    }
  };
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) (entry.isIntersecting ? visible.add(entry.target) : visible.delete(entry.target));
      if (visible.size) mark();
    },
    { rootMargin: "-64px 0px -60% 0px" },
  );
  for (const heading of headings) observer.observe(heading);
}

// On phones the guides are a row of chips that scrolls sideways: bring the current one into view.
function showCurrentGuide() {
  const list = document.querySelector(".docs-nav ul");
  const current = list?.querySelector("a[aria-current='page']");
  if (!list || !current || list.scrollWidth <= list.clientWidth) return;
  list.scrollLeft = current.offsetLeft - (list.clientWidth - current.offsetWidth) / 2;
}

enhanceCopyButtons();
enhanceSearch();
followSections();
showCurrentGuide();
