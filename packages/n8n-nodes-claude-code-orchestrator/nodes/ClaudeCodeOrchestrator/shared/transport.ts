/**
 * Every HTTP call the nodes make to the orchestrator, in one place: paths, bodies and the
 * run-and-wait protocol live here and nowhere else, so an API change is a change to this file.
 * Authentication is the credential's (x-api-key), added by httpRequestWithAuthentication.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
} from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

export const CREDENTIAL_TYPE = 'claudeCodeOrchestratorApi';

type Context = IExecuteFunctions | IHookFunctions | ILoadOptionsFunctions;

/** Turn states after which nothing more happens to the turn. */
const FINAL_TURN_STATUSES = ['completed', 'error', 'interrupted', 'timed_out', 'cancelled'];

/** The longest single held request; longer waits are several requests in a row. */
const MAX_WAIT_PER_REQUEST_S = 60;

export async function baseUrl(this: Context): Promise<string> {
	const credentials = await this.getCredentials(CREDENTIAL_TYPE);
	return String(credentials.baseUrl ?? '').replace(/\/+$/, '');
}

export async function apiRequest(
	this: Context,
	method: IHttpRequestMethods,
	path: string,
	options: { body?: IDataObject; qs?: IDataObject; headers?: IDataObject; timeoutS?: number } = {},
): Promise<IDataObject> {
	const request: IHttpRequestOptions = {
		method,
		url: `${await baseUrl.call(this)}${path}`,
		json: true,
		// A held (waiting) request must not be cut by the client before the server answers.
		timeout: ((options.timeoutS ?? 0) + 30) * 1000,
	};
	if (options.body !== undefined) request.body = options.body;
	if (options.qs !== undefined) request.qs = options.qs;
	if (options.headers !== undefined) request.headers = options.headers;
	const response = (await this.helpers.httpRequestWithAuthentication.call(
		this,
		CREDENTIAL_TYPE,
		request,
	)) as IDataObject | undefined;
	// DELETE answers 204 with no body.
	return response ?? {};
}

/** The dashboard page of a session. */
export function sessionLink(base: string, sessionId: string): string {
	return `${base}/sessions/${sessionId}`;
}

export function isFinalTurn(turn: IDataObject | undefined): boolean {
	const status = turn?.status ?? turn?.state;
	return typeof status === 'string' && FINAL_TURN_STATUSES.includes(status);
}

export interface WaitOptions {
	/** Seconds to wait for the turn's end; 0 returns at once with the turn queued. */
	waitS: number;
	closeAfter: boolean;
	/** Sent as Idempotency-Key: a retried request does not start a second turn. */
	idempotencyKey?: string;
}

function waitFields(wait: WaitOptions): IDataObject {
	const fields: IDataObject = {};
	if (wait.waitS > 0) fields.wait = Math.min(wait.waitS, MAX_WAIT_PER_REQUEST_S);
	if (wait.closeAfter) fields.close_after = true;
	return fields;
}

function idempotencyHeader(wait: WaitOptions): IDataObject | undefined {
	return wait.idempotencyKey ? { 'Idempotency-Key': wait.idempotencyKey } : undefined;
}

/** POST /api/sessions; with waitS, holds until the first turn ends (or the time is up). */
export async function createSession(
	this: Context,
	body: IDataObject,
	wait: WaitOptions,
): Promise<IDataObject> {
	const started = Date.now();
	const session = await apiRequest.call(this, 'POST', '/api/sessions', {
		body: { ...body, ...waitFields(wait) },
		headers: idempotencyHeader(wait),
		timeoutS: wait.waitS,
	});
	return finishWaiting.call(this, String(session.id), session, wait.waitS, started);
}

/** POST /api/sessions/:id/messages (a user message runs the next turn). */
export async function sendMessage(
	this: Context,
	sessionId: string,
	content: string,
	extra: IDataObject,
	wait: WaitOptions,
): Promise<IDataObject> {
	const started = Date.now();
	const message = await apiRequest.call(
		this,
		'POST',
		`/api/sessions/${encodeURIComponent(sessionId)}/messages`,
		{
			body: { direction: 'user', content, ...extra, ...waitFields(wait) },
			headers: idempotencyHeader(wait),
			timeoutS: wait.waitS,
		},
	);
	return finishWaiting.call(this, sessionId, message, wait.waitS, started);
}

/**
 * The server holds a request for at most MAX_WAIT_PER_REQUEST_S; if the turn is still going,
 * keep waiting on the turn itself until waitS is used up.
 */
async function finishWaiting(
	this: Context,
	sessionId: string,
	response: IDataObject,
	waitS: number,
	started: number,
): Promise<IDataObject> {
	const turn = response.turn as IDataObject | undefined;
	if (waitS <= 0 || turn?.id === undefined || isFinalTurn(turn)) return response;
	const left = Math.max(0, waitS - Math.floor((Date.now() - started) / 1000));
	return { ...response, turn: await waitForTurn.call(this, sessionId, String(turn.id), left) };
}

/** GET /api/sessions/:id/turns/:turn?wait=N, repeated until the turn ends or waitS is used up. */
export async function waitForTurn(
	this: Context,
	sessionId: string,
	turnId: string,
	waitS: number,
): Promise<IDataObject> {
	const deadline = Date.now() + waitS * 1000;
	for (;;) {
		const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
		const asked = Date.now();
		const wait = Math.min(left, MAX_WAIT_PER_REQUEST_S);
		const response = await apiRequest.call(
			this,
			'GET',
			`/api/sessions/${encodeURIComponent(sessionId)}/turns/${encodeURIComponent(turnId)}`,
			{ qs: { wait }, timeoutS: wait },
		);
		const turn = (response.turn as IDataObject | undefined) ?? response;
		if (isFinalTurn(turn) || Date.now() >= deadline) return turn;
		// A server that answered at once (not holding the request) is asked again after a pause, not in a tight loop.
		if (Date.now() - asked < 1000) await sleep(1000);
	}
}

export async function getSession(this: Context, sessionId: string): Promise<IDataObject> {
	return apiRequest.call(this, 'GET', `/api/sessions/${encodeURIComponent(sessionId)}`);
}

/** One page of GET /api/sessions, or all pages (following next_cursor) up to limit. */
export async function listPaged(
	this: Context,
	path: string,
	qs: IDataObject,
	limit: number | undefined,
): Promise<IDataObject[]> {
	const out: IDataObject[] = [];
	let cursor: string | undefined;
	do {
		const pageSize = Math.min(100, limit === undefined ? 100 : limit - out.length);
		const page = await apiRequest.call(this, 'GET', path, {
			qs: { ...qs, limit: pageSize, ...(cursor ? { cursor } : {}) },
		});
		out.push(...((page.data as IDataObject[] | undefined) ?? []));
		cursor = typeof page.next_cursor === 'string' ? page.next_cursor : undefined;
	} while (cursor && (limit === undefined || out.length < limit));
	return limit === undefined ? out : out.slice(0, limit);
}

/** PATCH /api/sessions/:id {status}: pause (paused), resume (active) or close (completed). */
export async function setSessionStatus(
	this: Context,
	sessionId: string,
	status: 'paused' | 'active' | 'completed',
): Promise<IDataObject> {
	return apiRequest.call(this, 'PATCH', `/api/sessions/${encodeURIComponent(sessionId)}`, {
		body: { status },
	});
}

export async function listWebhooks(this: Context): Promise<IDataObject[]> {
	const page = await apiRequest.call(this, 'GET', '/api/webhooks');
	return (page.data as IDataObject[] | undefined) ?? [];
}

/** POST /api/webhooks: the answer holds the signing secret, shown this once. */
export async function createWebhook(
	this: Context,
	url: string,
	events: string[],
	description: string,
): Promise<IDataObject> {
	return apiRequest.call(this, 'POST', '/api/webhooks', { body: { url, events, description } });
}

export async function deleteWebhook(this: Context, webhookId: string): Promise<void> {
	await apiRequest.call(this, 'DELETE', `/api/webhooks/${encodeURIComponent(webhookId)}`);
}
