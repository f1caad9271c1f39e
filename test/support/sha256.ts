export { Sha256 } from '../../shared/aws/sha256';
