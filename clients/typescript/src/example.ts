// How another team calls the gateway with the generated types (src/gateway.d.ts, from
// openapi/gateway.json): every body, answer and error is checked by `tsc --strict` (npm run check).
import type { components, operations } from "./gateway";

type Schemas = components["schemas"];
export type RagRequest = Schemas["RagRequest"];
export type RagResponse = Schemas["RagResponse"];
export type RagJob = Schemas["RagJob"];
export type ErrorBody = Schemas["ErrorBody"];
type JobState = Schemas["JobState"];

/** An answer that is not 2xx, with the envelope's type, message and each validation problem. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(`${status} ${body.error.type}: ${body.error.message}`);
  }

  get problems(): string[] {
    return (this.body.error.details ?? []).map((p) => `${p.loc.join(".")}: ${p.message}`);
  }
}

export class Gateway {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private async call<T>(method: string, path: string, body?: BodyInit, json = true): Promise<T> {
    const headers: Record<string, string> = { "X-API-Key": this.apiKey };
    if (json && body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    if (!answer.ok) throw new GatewayError(answer.status, (await answer.json()) as ErrorBody);
    return (await answer.json()) as T;
  }

  /** POST /v1/rag: retrieve, caption, fuse and generate in one call. */
  rag(request: RagRequest): Promise<RagResponse> {
    return this.call<operations["rag"]["responses"][200]["content"]["application/json"]>(
      "POST",
      "/v1/rag",
      JSON.stringify(request),
    );
  }

  /** POST /v1/rag/upload: the same flow with the query image as a file. */
  ragUpload(image: Blob, text?: string): Promise<RagResponse> {
    const form = new FormData();
    form.append("image", image, "query.png");
    if (text !== undefined) form.append("text", text);
    return this.call<RagResponse>("POST", "/v1/rag/upload", form, false);
  }

  /** POST /v1/jobs, then GET /v1/jobs/{job_id} until the job ends. */
  async runJob(request: RagRequest, pollMs = 500): Promise<RagJob> {
    type Created = operations["createJob"]["responses"][202]["content"]["application/json"];
    const created = await this.call<Created>("POST", "/v1/jobs", JSON.stringify(request));
    const ended: JobState[] = ["succeeded", "failed", "cancelled"];
    for (;;) {
      const job = await this.call<RagJob>("GET", `/v1/jobs/${created.job_id}`);
      if (ended.includes(job.state)) return job;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** DELETE /v1/jobs/{job_id}. */
  cancelJob(jobId: string): Promise<RagJob> {
    return this.call<RagJob>("DELETE", `/v1/jobs/${jobId}`);
  }
}

export async function example(gateway: Gateway): Promise<void> {
  const request: RagRequest = { text: "sekar bunga", seed: 7, symmetry: "d4", tile: true };
  const answer = await gateway.rag(request);
  const top = answer.references[0];
  console.log(top?.motif.name, top?.score, answer.prompt.text, answer.images.length);
  const job = await gateway.runJob({ text: "kawung nitik", steps: 20 });
  if (job.state === "succeeded" && job.result) console.log(job.result.seed);
  try {
    await gateway.rag({ text: "x", top_k: 99 });
  } catch (error) {
    if (error instanceof GatewayError && error.body.error.type === "validation") {
      console.log(error.problems);
    }
  }
}
