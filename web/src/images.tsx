// Image mode: a prompt sent to POST /api/v1/images instead of the chat,
// its pictures shown in the thread. The API keeps no files and
// conversations hold text, so the pictures live in this page only (and
// say so).
import { api, problemOf, type GeneratedImage, type Problem } from "./api/client";

/** Picture is a generated image as the thread shows it. */
export interface Picture {
  src: string; // a data: URL (the app's CSP allows data: images)
  alt: string; // the prompt that drew it
  name: string; // the download's file name
}

/** Drawn is an image request's outcome: the pictures, or why there are none. */
export type Drawn =
  | { pictures: Picture[]; requestId: string }
  | { problem: Problem };

/** draw asks for the prompt's picture (one, at the server's default size). */
export async function draw(prompt: string, signal: AbortSignal): Promise<Drawn> {
  try {
    const r = await api.POST("/api/v1/images", { body: { prompt }, signal });
    if (r.data) {
      const { images, request_id } = r.data;
      return { pictures: images.map((img, i) => picture(img, prompt, request_id, i)), requestId: request_id };
    }
    return { problem: problemOf(r.error, r.response) };
  } catch (err) {
    return { problem: problemOf(err) };
  }
}

function picture(img: GeneratedImage, prompt: string, requestId: string, i: number): Picture {
  const ext = img.mime_type.slice("image/".length).replace("jpeg", "jpg");
  return {
    src: `data:${img.mime_type};base64,${img.b64_json}`,
    alt: prompt,
    name: `genzai-${requestId.slice(0, 8)}${i > 0 ? `-${i + 1}` : ""}.${ext}`,
  };
}

/** Pictures shows an answer's pictures, each with a download link. */
export function Pictures({ pictures }: { pictures: Picture[] }) {
  return (
    <>
      {pictures.map((p) => (
        <figure class="picture" key={p.name}>
          <img src={p.src} alt={p.alt} />
          <figcaption>
            <a href={p.src} download={p.name}>Download</a>
            <span class="muted"> · not saved: the server keeps no images</span>
          </figcaption>
        </figure>
      ))}
    </>
  );
}

/** Drawing is what a message shows while its picture is on its way. */
export function Drawing() {
  return (
    <p class="muted drawing"><span class="spinner" aria-hidden="true" />Drawing the picture…</p>
  );
}
