/** The fields of the action node: resources, their operations, and each operation's parameters. */
import type { INodeProperties } from 'n8n-workflow';
import { collectionProperties } from './options';

const show = (resource: string, operation: string[]) => ({
	show: { resource: [resource], operation },
});

export const resourceProperty: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	options: [
		{ name: 'Log', value: 'log' },
		{ name: 'Message', value: 'message' },
		{ name: 'Session', value: 'session' },
		{ name: 'Turn', value: 'turn' },
	],
	default: 'session',
};

export const operationProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['session'] } },
		options: [
			{
				name: 'Close',
				value: 'close',
				action: 'Close a session',
				description: 'Stop the running turn and end the session for good',
			},
			{
				name: 'Create',
				value: 'create',
				action: 'Create a session',
				description: 'Start Claude Code on a prompt, optionally waiting for its answer',
			},
			{ name: 'Get', value: 'get', action: 'Get a session', description: 'Get one session' },
			{
				name: 'Get Many',
				value: 'getAll',
				action: 'Get many sessions',
				description: 'List sessions, most recently active first',
			},
			{
				name: 'Pause',
				value: 'pause',
				action: 'Pause a session',
				description: 'Interrupt the running turn and hold queued messages',
			},
			{
				name: 'Resume',
				value: 'resume',
				action: 'Resume a session',
				description: 'Run the messages a paused session holds',
			},
		],
		default: 'create',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['message'] } },
		options: [
			{
				name: 'Send',
				value: 'send',
				action: 'Send a message',
				description: 'Send a message to a session, which runs its next turn',
			},
		],
		default: 'send',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['turn'] } },
		options: [
			{
				name: 'Wait',
				value: 'wait',
				action: 'Wait for a turn',
				description: 'Wait until a turn ends and return its answer, cost and duration',
			},
		],
		default: 'wait',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['log'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getAll',
				action: 'Get many tool logs',
				description: 'List the tool calls of a session, oldest first',
			},
		],
		default: 'getAll',
	},
];

const sessionIdProperty = (displayOptions: INodeProperties['displayOptions']): INodeProperties => ({
	displayName: 'Session ID',
	name: 'sessionId',
	type: 'string',
	required: true,
	default: '',
	description: 'The ID of the session',
	displayOptions,
});

const waitProperties = (resource: string, operation: string): INodeProperties[] => [
	{
		displayName: 'Wait for Answer',
		name: 'waitForAnswer',
		type: 'boolean',
		default: true,
		description: 'Whether to wait until the turn ends and return its answer',
		displayOptions: show(resource, [operation]),
	},
	{
		displayName: 'Wait Timeout (Seconds)',
		name: 'waitTimeout',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 600,
		description: 'How long to wait for the answer; the turn keeps running after that',
		displayOptions: { show: { resource: [resource], operation: [operation], waitForAnswer: [true] } },
	},
	{
		displayName: 'Close After',
		name: 'closeAfter',
		type: 'boolean',
		default: false,
		description: 'Whether to close the session once this turn ends',
		displayOptions: show(resource, [operation]),
	},
];


export const fieldProperties: INodeProperties[] = [
	// One field per resource: displayOptions cannot say "session but not Get Many" in one entry.
	sessionIdProperty(show('session', ['get', 'pause', 'resume', 'close'])),
	sessionIdProperty(show('message', ['send'])),
	sessionIdProperty(show('turn', ['wait'])),
	sessionIdProperty(show('log', ['getAll'])),
	{
		displayName: 'Prompt',
		name: 'prompt',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		description: 'What Claude Code should do',
		displayOptions: show('session', ['create']),
	},
	{
		displayName: 'Message',
		name: 'content',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		description: 'The next instruction for the session',
		displayOptions: show('message', ['send']),
	},
	{
		displayName: 'Turn ID',
		name: 'turnId',
		type: 'string',
		required: true,
		default: '',
		description: 'The ID of the turn, as returned by Create or Send',
		displayOptions: show('turn', ['wait']),
	},
	{
		displayName: 'Timeout (Seconds)',
		name: 'timeout',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 600,
		description: 'How long to wait; the turn is returned as it is then',
		displayOptions: show('turn', ['wait']),
	},
	...waitProperties('session', 'create'),
	...waitProperties('message', 'send'),
	...collectionProperties,
];
