// Markdown from a model, made safe: marked renders it with raw HTML
// escaped (a model's <script> or <img onerror> shows as text), and
// DOMPurify removes anything that still could run or load (no style
// attributes, no images from elsewhere: the CSP would refuse them).
import DOMPurify from "dompurify";
import { Marked } from "marked";

const escapeHTML = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHTML(text);
    },
    image({ text }) {
      return escapeHTML(text);
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

export function renderMarkdown(md: string): string {
  const html = marked.parse(md) as string;
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "img", "form", "input", "button", "textarea", "select", "iframe"],
    FORBID_ATTR: ["style", "class", "id"],
  });
}
