// Starts Amazon DynamoDB Local (3.x) listening on a loopback address only.
//
// DynamoDB Local has no bind-address option: its DynamoDBProxyServer builds a
// Jetty `new Server(port)`, whose single ServerConnector listens on every
// interface. This launcher lets DynamoDB Local parse its usual command line and
// build its server exactly as its own ServerRunner does, then, before the
// server is started, sets the host of each Jetty ServerConnector to the
// loopback address (system property `ddbsnap.dynamodb.host`, default
// 127.0.0.1) and only then starts it.
//
// Usage (see scripts/servers.sh, which compiles and runs it):
//   java -Djava.library.path=DIR/DynamoDBLocal_lib \
//        -cp LAUNCHER_CLASSES:DIR/DynamoDBLocal.jar LoopbackLauncher \
//        -port 45661 -inMemory -sharedDb -disableTelemetry
//
// The jar's internals are reached by reflection (the private Jetty Server
// field of DynamoDBProxyServer, found by its type rather than its name); if a
// later DynamoDB Local release changes them, this launcher fails loudly
// instead of silently listening on all interfaces.

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.CommandLineInput;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackLauncher {
    private LoopbackLauncher() {}

    private static void fail(String message) {
        System.err.println("LoopbackLauncher: " + message);
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        String host = System.getProperty("ddbsnap.dynamodb.host", "127.0.0.1");
        if (!InetAddress.getByName(host).isLoopbackAddress()) {
            fail("refusing to bind to non-loopback host " + host);
        }

        // Same argument handling as ServerRunner.main: -help / -version print
        // and return false.
        if (!new CommandLineInput(args).init()) {
            return;
        }
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);

        Server jetty = null;
        for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (Server.class.isAssignableFrom(field.getType())) {
                field.setAccessible(true);
                jetty = (Server) field.get(proxy);
            }
        }
        if (jetty == null) {
            fail("no Jetty Server field found in DynamoDBProxyServer; "
                    + "this DynamoDB Local version is not supported");
        }

        List<ServerConnector> connectors = new ArrayList<>();
        for (Connector connector : jetty.getConnectors()) {
            if (!(connector instanceof ServerConnector)) {
                fail("unexpected Jetty connector type " + connector.getClass().getName());
            }
            ServerConnector serverConnector = (ServerConnector) connector;
            serverConnector.setHost(host);
            connectors.add(serverConnector);
        }
        if (connectors.isEmpty()) {
            fail("DynamoDB Local's Jetty server has no connector");
        }

        final DynamoDBProxyServer server = proxy;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop();
            } catch (Exception e) {
                System.err.println("LoopbackLauncher: error while stopping: " + e);
            }
        }, "ddbsnap-dynamodb-local-shutdown"));

        // DynamoDBProxyServer.start() reports a bind failure on stderr and
        // returns normally, so check that the connectors really are open.
        proxy.start();
        for (ServerConnector connector : connectors) {
            Object transport = connector.getTransport();
            if (!jetty.isStarted() || !(transport instanceof ServerSocketChannel)
                    || !((ServerSocketChannel) transport).isOpen()) {
                fail("DynamoDB Local did not start listening on " + host + ":" + connector.getPort());
            }
            SocketAddress address = ((ServerSocketChannel) transport).getLocalAddress();
            System.out.println("LoopbackLauncher: DynamoDB Local listening on " + address);
        }
        proxy.join();
    }
}
