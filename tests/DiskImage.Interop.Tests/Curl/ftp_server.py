"""An FTP server over one directory for the ftp/ftps driver tests (pyftpdlib).

Usage: ftp_server.py ROOT [--tls CERT_AND_KEY.pem] [--no-size]
Anonymous read access, and the user 'user' with the password 'secret'. With --tls the control and data
connections are TLS from the first byte (implicit FTPS, what ftps:// means to libcurl) and the data connections
must be protected (PROT P). --no-size refuses the SIZE command. Prints 'PORT n' once it listens on 127.0.0.1.
"""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

parser = argparse.ArgumentParser()
parser.add_argument('root')
parser.add_argument('--tls')
parser.add_argument('--no-size', action='store_true')
args = parser.parse_args()
logging.basicConfig(level=logging.ERROR)

authorizer = DummyAuthorizer()
authorizer.add_anonymous(args.root)
authorizer.add_user('user', 'secret', args.root, perm='elr')

if args.tls:
    from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

    class DataHandler(TLS_DTPHandler):
        # pyftpdlib closes a data channel that is readable before its transfer starts, which a TLS handshake
        # in progress is: keep it while the handshake runs.
        def readable(self):
            return self._ssl_accepting or super().readable()

    class Handler(TLS_FTPHandler):
        # Implicit TLS: the handshake comes first, the welcome after it.
        def handle(self):
            self.secure_connection(self.ssl_context)

        def handle_ssl_established(self):
            TLS_FTPHandler.handle(self)

    Handler.certfile = args.tls
    Handler.tls_data_required = True
    Handler.dtp_handler = DataHandler
else:
    class Handler(FTPHandler):
        pass

if args.no_size:
    Handler.proto_cmds = {k: v for k, v in Handler.proto_cmds.items() if k != 'SIZE'}

Handler.authorizer = authorizer
Handler.banner = 'test server ready.'
server = FTPServer(('127.0.0.1', 0), Handler)
print('PORT', server.socket.getsockname()[1], flush=True)
server.serve_forever(handle_exit=True)
