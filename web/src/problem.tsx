import type { Problem } from "./api/client";

/** ProblemView shows an error in words, with the request id to quote. */
export function ProblemView({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <p class="problem" role="alert">
      {problem.message}
      {problem.requestId && <span class="reqid"> (request id: <code>{problem.requestId}</code>)</span>}
    </p>
  );
}
