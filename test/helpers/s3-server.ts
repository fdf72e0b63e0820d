// The S3 server the tests start lives beside the bench's other dev servers (bin/dev), which uses it too.
export * from '../../bin/dev/s3-server.js';
