/** What each resource/operation does for one input item; HTTP goes through shared/transport. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import {
	baseUrl,
	createSession,
	getSession,
	listPaged,
	sendMessage,
	sessionLink,
	setSessionStatus,
	waitForTurn,
	type WaitOptions,
} from './shared/transport';

/** A JSON parameter may arrive as text or, from an expression, as an object. */
function jsonObject(ctx: IExecuteFunctions, value: unknown, name: string, itemIndex: number): IDataObject {
	if (value === undefined || value === '') return {};
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch {
			throw new NodeOperationError(ctx.getNode(), `${name} is not valid JSON`, { itemIndex });
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NodeOperationError(ctx.getNode(), `${name} must be a JSON object`, { itemIndex });
	}
	return parsed as IDataObject;
}

/** Drops empty optional fields: the API refuses empty strings where it expects a value. */
function compact(fields: IDataObject): IDataObject {
	const out: IDataObject = {};
	for (const [key, value] of Object.entries(fields)) {
		if (value !== '' && value !== undefined && value !== null) out[key] = value;
	}
	return out;
}

function waitOptions(ctx: IExecuteFunctions, itemIndex: number): WaitOptions {
	const waitForAnswer = ctx.getNodeParameter('waitForAnswer', itemIndex, true) as boolean;
	return {
		waitS: waitForAnswer ? (ctx.getNodeParameter('waitTimeout', itemIndex, 600) as number) : 0,
		closeAfter: ctx.getNodeParameter('closeAfter', itemIndex, false) as boolean,
		// The same execution, node and item: a retry of this request, not a new one.
		idempotencyKey: `n8n:${ctx.getExecutionId()}:${ctx.getNode().id}:${itemIndex}`,
	};
}

/** Adds the fields every workflow needs without digging: session_id, link and the turn's answer. */
function withLinks(base: string, sessionId: string, response: IDataObject): IDataObject {
	return { ...response, session_id: sessionId, link: sessionLink(base, sessionId) };
}

export async function runOperation(
	ctx: IExecuteFunctions,
	resource: string,
	operation: string,
	itemIndex: number,
): Promise<IDataObject[]> {
	const base = await baseUrl.call(ctx);
	const sessionId = () => String(ctx.getNodeParameter('sessionId', itemIndex)).trim();

	if (resource === 'session' && operation === 'create') {
		const fields = ctx.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
		const body = compact({
			...fields,
			metadata: jsonObject(ctx, fields.metadata, 'Metadata', itemIndex),
			source: fields.source ?? 'n8n',
			prompt: ctx.getNodeParameter('prompt', itemIndex) as string,
		});
		const response = await createSession.call(ctx, body, waitOptions(ctx, itemIndex));
		return [withLinks(base, String(response.id), response)];
	}
	if (resource === 'session' && operation === 'get') {
		const id = sessionId();
		return [withLinks(base, id, await getSession.call(ctx, id))];
	}
	if (resource === 'session' && operation === 'getAll') {
		const returnAll = ctx.getNodeParameter('returnAll', itemIndex, false) as boolean;
		const limit = returnAll ? undefined : (ctx.getNodeParameter('limit', itemIndex, 50) as number);
		const filters = compact(ctx.getNodeParameter('sessionFilters', itemIndex, {}) as IDataObject);
		const sessions = await listPaged.call(ctx, '/api/sessions', filters, limit);
		return sessions.map((s) => withLinks(base, String(s.id), s));
	}
	if (resource === 'session' && (operation === 'pause' || operation === 'resume' || operation === 'close')) {
		const status = operation === 'pause' ? 'paused' : operation === 'resume' ? 'active' : 'completed';
		const id = sessionId();
		return [withLinks(base, id, await setSessionStatus.call(ctx, id, status))];
	}
	if (resource === 'message' && operation === 'send') {
		const id = sessionId();
		const options = ctx.getNodeParameter('messageOptions', itemIndex, {}) as IDataObject;
		const extra = compact({
			source: options.source ?? 'n8n',
			metadata: jsonObject(ctx, options.metadata, 'Metadata', itemIndex),
		});
		const content = ctx.getNodeParameter('content', itemIndex) as string;
		return [withLinks(base, id, await sendMessage.call(ctx, id, content, extra, waitOptions(ctx, itemIndex)))];
	}
	if (resource === 'turn' && operation === 'wait') {
		const id = sessionId();
		const turnId = String(ctx.getNodeParameter('turnId', itemIndex)).trim();
		const timeout = ctx.getNodeParameter('timeout', itemIndex, 600) as number;
		return [withLinks(base, id, await waitForTurn.call(ctx, id, turnId, timeout))];
	}
	if (resource === 'log' && operation === 'getAll') {
		const id = sessionId();
		const returnAll = ctx.getNodeParameter('returnAll', itemIndex, false) as boolean;
		const limit = returnAll ? undefined : (ctx.getNodeParameter('limit', itemIndex, 50) as number);
		const filters = compact(ctx.getNodeParameter('logFilters', itemIndex, {}) as IDataObject);
		return listPaged.call(ctx, `/api/sessions/${encodeURIComponent(id)}/logs`, filters, limit);
	}
	throw new NodeOperationError(ctx.getNode(), `Unknown operation ${resource}.${operation}`, { itemIndex });
}
