import { useEffect, useRef } from "preact/hooks";

/**
 * CodeBlocks shows an answer's sanitised HTML and gives each code block a
 * "Copy code" button. The buttons are added through the DOM once the HTML
 * is in place: the sanitised HTML itself never holds a button or a
 * handler, and the CSP allows no inline one.
 */
export function CodeBlocks({ html }: { html: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    for (const pre of root.querySelectorAll("pre")) {
      if (pre.parentElement?.classList.contains("code")) continue;
      const wrap = document.createElement("div");
      wrap.className = "code";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small copy";
      button.textContent = "Copy code";
      button.addEventListener("click", () => void copy(pre, button));
      pre.replaceWith(wrap);
      wrap.append(button, pre);
    }
  }, [html]);
  return <div class="md" ref={ref} dangerouslySetInnerHTML={{ __html: html }} />;
}

// copy puts a code block's text on the clipboard and says so on its
// button for two seconds.
async function copy(pre: HTMLPreElement, button: HTMLButtonElement) {
  const text = pre.querySelector("code")?.textContent ?? pre.textContent ?? "";
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed: select the text instead";
  }
  window.setTimeout(() => { button.textContent = "Copy code"; }, 2000);
}
