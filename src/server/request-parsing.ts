import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { fail } from '../errors.js';

/**
 * A request whose body or parameters cannot be read is answered 400 BAD_USER_INPUT, whatever the
 * client accepts. Yoga's own parsers answer malformed JSON with 200 under `accept: application/json`
 * (the spec allows it; its audit recommends 400), and throw a bare SyntaxError, a 500, for malformed
 * `variables` or `extensions` in a GET query string or a form body, and a TypeError for a multipart
 * body of the wrong shape. This wraps whichever parser yoga
 * chose for the request.
 */
export function useMalformedRequestsAsBadInput(): Plugin {
  return {
    onRequestParse: ({ requestParser, setRequestParser }) => {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof GraphQLError) throw fail.malformedRequest(error.message);
          if (error instanceof SyntaxError) throw fail.malformedRequest(`The request's variables or extensions are not valid JSON: ${error.message}`);
          // Yoga's multipart parser fails with a TypeError on a map or operations of the wrong shape.
          if (request.headers.get('content-type')?.startsWith('multipart/form-data')) {
            throw fail.malformedRequest('The multipart request does not follow the GraphQL multipart request spec: operations, then map, then the files.');
          }
          throw error;
        }
      });
    },
  };
}
