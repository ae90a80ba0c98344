import { formatImageRef, isRemote, parseImageRef } from '../../../src/oci/image-ref.js';
import { fromImages } from '../../../src/oci/cache-inputs.js';

describe('parseImageRef', () => {
  test.each([
    ['oci-archive:base.tar', { transport: 'oci-archive', path: '/repo/base.tar' }],
    ['oci-archive:/abs/base.tar:v1', { transport: 'oci-archive', path: '/abs/base.tar', tag: 'v1' }],
    ['oci:layout:latest', { transport: 'oci', path: '/repo/layout', tag: 'latest' }],
    ['oci:../shared/layout', { transport: 'oci', path: '/shared/layout' }],
    ['docker-archive:img.tar', { transport: 'docker-archive', path: '/repo/img.tar' }],
    ['containers-storage:localhost/base:1', { transport: 'containers-storage', path: 'localhost/base:1' }],
    ['docker://registry.example/ns/img:tag', { transport: 'docker', path: 'registry.example/ns/img:tag' }],
    ['./base.tar', { transport: 'oci-archive', path: '/repo/base.tar' }],
    ['/images/layout', { transport: 'oci', path: '/images/layout' }],
  ])('%s', (text, expected) => {
    expect(parseImageRef(text, '/repo')).toEqual(expected);
  });

  test.each([
    ['ftp://host/x', /unknown transport/],
    ['debian:12', /unknown transport; use one of oci:, oci-archive:/],
    ['docker:debian', /docker references start docker:\/\//],
    ['oci-archive:', /no path/],
  ])('%s is refused', (text, message) => {
    expect(() => parseImageRef(text, '/repo')).toThrow(message);
  });

  test('a parsed reference is written back as the tools take it; only docker:// is remote', () => {
    const ref = parseImageRef('oci:layout:v2', '/r');
    expect(formatImageRef(ref)).toBe('oci:/r/layout:v2');
    expect(isRemote(ref)).toBe(false);
    expect(isRemote(parseImageRef('docker://x/y', '/r'))).toBe(true);
  });
});

describe('fromImages', () => {
  test('lists FROM images, leaving out scratch and earlier stages named with AS', () => {
    const dockerfile = [
      'FROM --platform=linux/amd64 oci-archive:base.tar AS build',
      'RUN make',
      'from scratch',
      'FROM build',
      'FROM docker://registry.example/img:1',
      '  FROM oci:layout:tag as final',
    ].join('\n');
    expect(fromImages(dockerfile)).toEqual([
      'oci-archive:base.tar',
      'docker://registry.example/img:1',
      'oci:layout:tag',
    ]);
  });
});
