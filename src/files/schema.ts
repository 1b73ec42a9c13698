import { GraphQLError } from 'graphql';
import { builder } from '../builder.js';
import { viewerId } from '../context.js';
import { fail } from '../errors.js';
import { parseId } from '../ids.js';
import { Message } from '../messages/types.js';
import { uploadAttachment } from './service.js';
import { signedFileUrl } from './urls.js';

builder.scalarType('File', {
  description: 'A file sent as a part of a multipart request (the GraphQL multipart request spec), over HTTP only.',
  serialize: () => {
    throw new GraphQLError('File is an input type only.');
  },
  parseValue: (value) => {
    // Yoga's multipart parser makes WHATWG File objects of its own fetch implementation, not Node's
    // File class: recognised by their shape.
    if (isFile(value)) return value;
    throw fail.badInput('file must be a file part of a multipart request over HTTP (files cannot be sent over graphql-ws).', 'file');
  },
});

const isFile = (value: unknown): value is File =>
  typeof value === 'object' && value !== null && typeof (value as File).arrayBuffer === 'function' && typeof (value as File).name === 'string';

export const Attachment = builder.prismaNode('Attachment', {
  id: { field: 'id' },
  nullable: true,
  description: 'A file uploaded to a room, attached to a message (or waiting to be).',
  // Only members of its room: the same rule as its message.
  authScopes: (attachment) => ({ member: attachment.roomId }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The file name the uploader gave, without directories.' }),
    contentType: t.exposeString('contentType', { description: 'Sniffed from the bytes, not taken from the uploader.' }),
    size: t.exposeInt('size', { description: 'In bytes.' }),
    width: t.exposeInt('width', { nullable: true, description: 'In pixels, for images.' }),
    height: t.exposeInt('height', { nullable: true, description: 'In pixels, for images.' }),
    url: t.string({
      description:
        'Where to download it (GET, relative to the server): a signed URL valid for FILE_URL_TTL, usable without a token (so <img src> works). ' +
        'The same path without the query answers to "Authorization: Bearer <token>" of a member of the room.',
      resolve: (attachment, _args, context) =>
        signedFileUrl(context.app.config.jwtSecret, attachment.id, context.app.config.files.urlTtlSeconds),
    }),
  }),
});

builder.prismaObjectField(Message, 'attachments', (t) =>
  t.field({
    type: [Attachment],
    description: 'Files attached when the message was sent, in upload order; none once it is deleted.',
    // One query for a whole page of messages.
    resolve: (message, _args, context) => context.loaders.attachments.load(message.id),
  }),
);

builder.mutationField('uploadAttachment', (t) =>
  t.prismaField({
    type: 'Attachment',
    description:
      'Uploads a file to a room the viewer may send to, over HTTP as a multipart request; attach it with sendMessage(input: { attachmentIds }). ' +
      'Uploads never attached are deleted after a day.',
    authScopes: { authenticated: true },
    args: { roomId: t.arg.id({ required: true }), file: t.arg({ type: 'File', required: true }) },
    resolve: async (query, _root, args, context) => {
      const attachment = await uploadAttachment(context.app, viewerId(context), parseId('Room', args.roomId, 'roomId'), args.file);
      return Object.keys(query).length === 0
        ? attachment
        : context.app.prisma.attachment.findUniqueOrThrow({ ...query, where: { id: attachment.id } });
    },
  }),
);
