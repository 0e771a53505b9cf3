import { useState } from "preact/hooks";
import { api, problemOf, type Problem } from "./api/client";
import { ProblemView } from "./problem";

type Rating = "up" | "down";

/** Feedback rates an answer up or down, with an optional comment (POST /api/v1/feedback). */
export function Feedback({ requestId }: { requestId: string }) {
  const [rating, setRating] = useState<Rating | null>(null);
  const [comment, setComment] = useState("");
  const [sent, setSent] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);

  // send stores the rating; sending again (with the comment) replaces it.
  async function send(r: Rating, text: string) {
    setProblem(null);
    const body = text.trim() === "" ? { request_id: requestId, rating: r } : { request_id: requestId, rating: r, comment: text.trim() };
    const res = await api.POST("/api/v1/feedback", { body })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!res.data) {
      setProblem(problemOf(res.error, res.response));
      return;
    }
    setRating(r);
    setSent(text.trim() !== "");
  }

  const id = `comment-${requestId}`;
  return (
    <div class="feedback">
      <button type="button" class="small" aria-pressed={rating === "up"}
        onClick={() => void send("up", comment)}>Good answer</button>
      <button type="button" class="small" aria-pressed={rating === "down"}
        onClick={() => void send("down", comment)}>Bad answer</button>
      {rating && !sent && (
        <form class="comment" onSubmit={(e) => { e.preventDefault(); void send(rating, comment); }}>
          <label for={id} class="visually-hidden">Comment on this answer (optional)</label>
          <input id={id} placeholder="Add a comment (optional)" maxLength={2000} value={comment}
            onInput={(e) => setComment(e.currentTarget.value)} />
          <button type="submit" class="small" disabled={comment.trim() === ""}>Send comment</button>
        </form>
      )}
      {rating && <span class="muted" role="status">Thanks for the feedback.</span>}
      <ProblemView problem={problem} />
    </div>
  );
}
