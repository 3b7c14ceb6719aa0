import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { fieldProperties, operationProperties, resourceProperty } from './descriptions';
import { runOperation } from './operations';

/**
 * Drives Claude Code Orchestrator sessions over its REST API: start one (and wait for the
 * answer), continue it, wait for a turn, read it, list sessions and tool logs, pause, resume, close.
 */
export class ClaudeCodeOrchestrator implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Code Orchestrator',
		name: 'claudeCodeOrchestrator',
		icon: {
			light: 'file:../../icons/claude-code-orchestrator.svg',
			dark: 'file:../../icons/claude-code-orchestrator.dark.svg',
		},
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Run Claude Code sessions through Claude Code Orchestrator',
		defaults: {
			name: 'Claude Code Orchestrator',
		},
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'claudeCodeOrchestratorApi',
				required: true,
			},
		],
		properties: [resourceProperty, ...operationProperties, ...fieldProperties],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			let failure: unknown;
			try {
				const resource = this.getNodeParameter('resource', itemIndex) as string;
				const operation = this.getNodeParameter('operation', itemIndex) as string;
				const results = await runOperation(this, resource, operation, itemIndex);
				for (const json of results) out.push({ json, pairedItem: { item: itemIndex } });
			} catch (error) {
				failure = error;
			}
			if (failure === undefined) continue;
			const nodeError =
				failure instanceof NodeApiError || failure instanceof NodeOperationError
					? failure
					: new NodeApiError(this.getNode(), failure as JsonObject, { itemIndex });
			// With "On Error: Continue (using error output)" n8n moves items carrying `error` to the error
			// branch; the json keeps what a workflow needs to say what went wrong.
			if (this.continueOnFail()) {
				out.push({
					json: {
						error: nodeError.message,
						description: nodeError.description ?? null,
						http_code: nodeError instanceof NodeApiError ? nodeError.httpCode : null,
					},
					error: nodeError,
					pairedItem: { item: itemIndex },
				});
				continue;
			}
			throw nodeError;
		}
		return [out];
	}
}
