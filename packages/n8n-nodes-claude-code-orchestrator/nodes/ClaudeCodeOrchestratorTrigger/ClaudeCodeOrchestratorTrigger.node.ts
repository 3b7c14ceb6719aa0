import type {
	IDataObject,
	IHookFunctions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import {
	createWebhook,
	deleteWebhook,
	listWebhooks,
} from '../ClaudeCodeOrchestrator/shared/transport';
import { verifySignature } from './signature';

const EVENTS = [
	{
		name: 'Approval Decided',
		value: 'approval.decided',
		description: 'A tool call waiting for approval was allowed, denied or expired',
	},
	{
		name: 'Approval Requested',
		value: 'approval.requested',
		description: 'A tool call waits for a person: route it, then POST the decision to decision_url',
	},
	{ name: 'Session Completed', value: 'session.completed', description: 'A session was closed' },
	{ name: 'Session Created', value: 'session.created', description: 'A session was started' },
	{
		name: 'Session Status Changed',
		value: 'session.status_changed',
		description: 'A session was paused, resumed, closed or failed',
	},
	{ name: 'Turn Completed', value: 'turn.completed', description: 'A turn ended with an answer' },
	{ name: 'Turn Failed', value: 'turn.failed', description: 'A turn ended in an error, timeout or interruption' },
	{ name: 'Turn Started', value: 'turn.started', description: 'Claude Code began a turn' },
];

function sameEvents(a: unknown, b: string[]): boolean {
	if (!Array.isArray(a) || a.length !== b.length) return false;
	const sorted = [...b].sort();
	return [...a].map(String).sort().every((event, i) => event === sorted[i]);
}

/**
 * Starts a workflow on orchestrator events. Activating the workflow subscribes this node's URL
 * through POST /api/webhooks and keeps the subscription's id and signing secret in the workflow's
 * static data; deactivating deletes the subscription. Every delivery's signature is checked
 * against the raw body before the workflow runs: an unsigned, forged or stale one gets 401.
 */
export class ClaudeCodeOrchestratorTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Code Orchestrator Trigger',
		name: 'claudeCodeOrchestratorTrigger',
		icon: {
			light: 'file:../../icons/claude-code-orchestrator.svg',
			dark: 'file:../../icons/claude-code-orchestrator.dark.svg',
		},
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Starts the workflow when Claude Code Orchestrator reports a session or turn event',
		defaults: {
			name: 'Claude Code Orchestrator Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'claudeCodeOrchestratorApi',
				required: true,
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: 'webhook',
			},
		],
		properties: [
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: EVENTS,
				default: [],
				description: 'The events that start the workflow',
			},
		],
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				if (typeof staticData.webhookId !== 'string' || typeof staticData.webhookSecret !== 'string') {
					return false;
				}
				const url = this.getNodeWebhookUrl('default');
				const events = this.getNodeParameter('events') as string[];
				const found = (await listWebhooks.call(this)).find((h) => String(h.id) === staticData.webhookId);
				if (found && found.url === url && sameEvents(found.events, events)) return true;
				// Gone, moved or subscribed to other events: drop ours and let create() make a fresh one.
				if (found) await deleteWebhook.call(this, String(found.id));
				delete staticData.webhookId;
				delete staticData.webhookSecret;
				return false;
			},

			async create(this: IHookFunctions): Promise<boolean> {
				const url = this.getNodeWebhookUrl('default');
				if (!url) throw new NodeOperationError(this.getNode(), 'This node has no webhook URL');
				const events = this.getNodeParameter('events') as string[];
				if (events.length === 0) {
					throw new NodeOperationError(this.getNode(), 'Choose at least one event');
				}
				const hook = await createWebhook.call(
					this,
					url,
					events,
					`n8n: ${this.getWorkflow().name ?? this.getWorkflow().id} / ${this.getNode().name}`,
				);
				if (hook.id === undefined || typeof hook.secret !== 'string') {
					throw new NodeOperationError(
						this.getNode(),
						'The orchestrator did not return the webhook id and secret',
					);
				}
				const staticData = this.getWorkflowStaticData('node');
				staticData.webhookId = String(hook.id);
				staticData.webhookSecret = hook.secret;
				return true;
			},

			async delete(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				if (typeof staticData.webhookId === 'string') {
					try {
						await deleteWebhook.call(this, staticData.webhookId);
					} catch (error) {
						// Already deleted on the orchestrator: nothing left to remove. Anything else is kept, to retry.
						if (!(error instanceof NodeApiError && String(error.httpCode) === '404')) {
							this.logger.warn('Could not delete the orchestrator webhook subscription', {
								webhookId: staticData.webhookId,
								error: error instanceof Error ? error.message : String(error),
							});
							return false;
						}
					}
				}
				delete staticData.webhookId;
				delete staticData.webhookSecret;
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const staticData = this.getWorkflowStaticData('node');
		const secret = typeof staticData.webhookSecret === 'string' ? staticData.webhookSecret : '';
		// The signature covers the bytes as sent, not n8n's re-serialized JSON: read the raw body.
		const req = this.getRequestObject();
		if (!req.rawBody && typeof req.readRawBody === 'function') await req.readRawBody();
		const rawBody: Buffer | undefined = req.rawBody;
		const header = this.getHeaderData()['x-cco-signature'];
		const verdict =
			secret && rawBody
				? verifySignature(
						secret,
						typeof header === 'string' ? header : undefined,
						rawBody,
						Math.floor(Date.now() / 1000),
					)
				: 'no secret or body';
		if (verdict !== 'ok') {
			const res = this.getResponseObject();
			res.status(401).json({ error: `signature check failed: ${verdict}` });
			return { noWebhookResponse: true };
		}
		const event = this.getBodyData() as IDataObject;
		const events = this.getNodeParameter('events') as string[];
		if (!events.includes(String(event.type))) {
			return { webhookResponse: { ignored: true } };
		}
		return { workflowData: [this.helpers.returnJsonArray([event])] };
	}
}
