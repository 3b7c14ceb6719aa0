import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/**
 * Where the orchestrator is and which API key to use. The key goes in the x-api-key header of
 * every request; the credential test asks GET /api/me, which answers 200 only for a valid key.
 */
export class ClaudeCodeOrchestratorApi implements ICredentialType {
	name = 'claudeCodeOrchestratorApi';

	displayName = 'Claude Code Orchestrator API';

	icon: Icon = {
		light: 'file:../icons/claude-code-orchestrator.svg',
		dark: 'file:../icons/claude-code-orchestrator.dark.svg',
	};

	documentationUrl =
		'https://github.com/claude-code-orchestrator/claude-code-orchestrator#keys-roles-and-signing-in';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. https://orchestrator.example.com',
			description: 'The address of the orchestrator server, without /api',
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'A key made with "cco keys create" (role user or admin)',
			required: true,
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				'x-api-key': '={{$credentials.apiKey}}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/api/me',
			method: 'GET',
		},
	};
}
