// `bindery manifests`: the install bundle as YAML on stdout.

import { renderInstallYaml } from '../install/index.ts';
import type { ManifestsArgs } from './commands.ts';

export function renderManifests(args: ManifestsArgs): string {
  return renderInstallYaml({
    namespace: args.namespace,
    certMode: args.certMode,
    replicas: args.replicas,
    secretAccess: args.secretAccess,
    ...(args.deniedEnvNames.length > 0 && { deniedEnvNames: args.deniedEnvNames }),
    ...(args.image !== undefined && { image: args.image }),
    ...(args.osb && { osb: true }),
  });
}
