import { project } from '../../vitest.shared.ts';
export default project('strategy-i-mmap-rwsem');
