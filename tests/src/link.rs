//! A TCP link between clients and a server that a test can cut (connections refused, open ones
//! reset), hang (connections accepted, nothing answered) and restore: a dependency's outage
//! as its clients see it, while the server itself keeps its data.

use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

pub struct Link {
    /// Where clients connect.
    pub port: u16,
    upstream: String,
    proxy: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Link {
    /// A link on a free port to `upstream` (`host:port`), letting clients through.
    pub async fn open(upstream: &str) -> Self {
        let mut link =
            Self { port: crate::free_port(), upstream: upstream.to_string(), proxy: None, connections: Default::default() };
        link.restore().await;
        link
    }

    /// Cut clients off: new connections are refused, open ones reset.
    pub fn cut(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.abort();
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Hang: clients connect and are read from, but nothing ever answers (a server stuck
    /// rather than down).
    pub async fn hang(&mut self) {
        self.accept(|mut client, _| async move {
            let _ = tokio::io::copy(&mut client, &mut tokio::io::sink()).await;
        })
        .await;
    }

    /// Let clients through again.
    pub async fn restore(&mut self) {
        self.accept(|mut client, upstream| async move {
            if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        })
        .await;
    }

    /// Serve each new connection with `serve` (given the client and the upstream address).
    async fn accept<F, Fut>(&mut self, serve: F)
    where
        F: Fn(tokio::net::TcpStream, String) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.cut();
        let listener = self.listen().await;
        let (upstream, connections) = (self.upstream.clone(), self.connections.clone());
        self.proxy = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let connection = tokio::spawn(serve(client, upstream.clone()));
                let mut open = connections.lock().unwrap();
                open.retain(|c| !c.is_finished());
                open.push(connection);
            }
        }));
    }

    /// The link's port, once the listener `cut` aborted has let go of it (an aborted task
    /// drops its listener when the runtime next gets to it).
    async fn listen(&self) -> tokio::net::TcpListener {
        let mut tries = 0;
        loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => return listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("binding the link to {} on port {}: {e}", self.upstream, self.port),
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cut();
    }
}
