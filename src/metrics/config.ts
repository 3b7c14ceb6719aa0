/** The metrics part of the Config (METRICS_* settings). */

export interface MetricsConfig {
  /** METRICS_TOKEN: a bearer token that reads /metrics (and nothing else); never logged. */
  token: string | undefined;
  /** METRICS_PORT: a listener of its own serving GET /metrics without a key; undefined: none. */
  port: number | undefined;
  /** METRICS_HOST: its interface (default HOST). */
  host: string;
}

export function metricsConfigFrom(c: { METRICS_TOKEN?: string | undefined; METRICS_PORT?: number | undefined; METRICS_HOST?: string | undefined; HOST: string }): MetricsConfig {
  return { token: c.METRICS_TOKEN, port: c.METRICS_PORT, host: c.METRICS_HOST ?? c.HOST };
}
