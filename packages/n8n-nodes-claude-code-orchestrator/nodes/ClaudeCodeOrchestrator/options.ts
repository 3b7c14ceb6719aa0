/** The collections of the action node: optional fields of Create and Send, and list paging and filters. */
import type { INodeProperties } from 'n8n-workflow';

const show = (resource: string, operation: string[]) => ({
	show: { resource: [resource], operation },
});

const sourceOption: INodeProperties = {
	displayName: 'Source',
	name: 'source',
	type: 'options',
	options: [
		{ name: 'API', value: 'api' },
		{ name: 'N8n Workflow', value: 'n8n' },
		{ name: 'Schedule', value: 'schedule' },
		{ name: 'Slack', value: 'slack' },
	],
	default: 'n8n',
	description: 'Where the request came from, as recorded with the session and its messages',
};

const metadataOption: INodeProperties = {
	displayName: 'Metadata',
	name: 'metadata',
	type: 'json',
	default: '{}',
	description: 'A JSON object stored with the session or message; searchable with Get Many',
};


export const collectionProperties: INodeProperties[] = [
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: show('session', ['create']),
		options: [
			{
				displayName: 'Append System Prompt',
				name: 'append_system_prompt',
				type: 'string',
				default: '',
				description: 'Text added to Claude Code’s system prompt',
			},
			{
				displayName: 'Base Repository',
				name: 'base_repo',
				type: 'string',
				default: '',
				description: 'For worktree sessions: a local repository or a git URL',
			},
			{
				displayName: 'Max Turns',
				name: 'max_turns',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Model round trips allowed per turn',
			},
			metadataOption,
			{
				displayName: 'Model',
				name: 'model',
				type: 'string',
				default: '',
				placeholder: 'e.g. claude-sonnet-4-5',
				description: 'The model Claude Code uses',
			},
			{
				displayName: 'Permission Mode',
				name: 'permission_mode',
				type: 'options',
				options: [
					{ name: 'Accept Edits', value: 'acceptEdits' },
					{ name: 'Bypass Permissions', value: 'bypassPermissions' },
					{ name: 'Default', value: 'default' },
					{ name: 'Plan', value: 'plan' },
				],
				default: 'acceptEdits',
				description: 'What Claude Code may do without asking',
			},
			{
				displayName: 'Project Path',
				name: 'project_path',
				type: 'string',
				default: '',
				description: 'A folder on the orchestrator host; empty makes a new one',
			},
			{
				displayName: 'Project Type',
				name: 'project_type',
				type: 'options',
				options: [
					{ name: 'E2B Sandbox', value: 'e2b' },
					{ name: 'Git Clone', value: 'github' },
					{ name: 'Local Folder', value: 'local' },
					{ name: 'Worktree', value: 'worktree' },
				],
				default: 'local',
				description: 'Where the session works',
			},
			{
				displayName: 'Ref',
				name: 'ref',
				type: 'string',
				default: '',
				description: 'A branch, tag or commit to start from',
			},
			{
				displayName: 'Repository URL',
				name: 'repo_url',
				type: 'string',
				default: '',
				placeholder: 'e.g. https://github.com/acme/api.git',
				description: 'The git URL to clone (project type Git Clone or E2B Sandbox)',
			},
			sourceOption,
			{
				displayName: 'Time Limit (Seconds)',
				name: 'timeout_s',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 900,
				description: 'Time limit of each turn',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'messageOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show('message', ['send']),
		options: [metadataOption, sourceOption],
	},
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
		displayOptions: { show: { resource: ['session', 'log'], operation: ['getAll'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: {
			show: { resource: ['session', 'log'], operation: ['getAll'], returnAll: [false] },
		},
	},
	{
		displayName: 'Filters',
		name: 'sessionFilters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		displayOptions: show('session', ['getAll']),
		options: [
			{
				displayName: 'Path or Metadata Contains',
				name: 'contains',
				type: 'string',
				default: '',
				description: 'Case-insensitive text in the project path or the metadata',
			},
			{
				displayName: 'Project Type',
				name: 'project_type',
				type: 'options',
				options: [
					{ name: 'E2B Sandbox', value: 'e2b' },
					{ name: 'Git Clone', value: 'github' },
					{ name: 'Local Folder', value: 'local' },
					{ name: 'Worktree', value: 'worktree' },
				],
				default: 'local',
			},
			{
				displayName: 'Search',
				name: 'q',
				type: 'string',
				default: '',
				description: 'Full-text search of the messages and tool logs (whole words; "a phrase", or, -word); best match first',
			},
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'Active', value: 'active' },
					{ name: 'Completed', value: 'completed' },
					{ name: 'Error', value: 'error' },
					{ name: 'Paused', value: 'paused' },
				],
				default: 'active',
			},
		],
	},
	{
		displayName: 'Filters',
		name: 'logFilters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		displayOptions: show('log', ['getAll']),
		options: [
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: [
					{ name: 'Completed', value: 'completed' },
					{ name: 'Error', value: 'error' },
				],
				default: 'completed',
			},
			{
				displayName: 'Tool',
				name: 'tool',
				type: 'string',
				default: '',
				placeholder: 'e.g. Bash',
				description: 'Only calls of this tool',
			},
		],
	},
];
