//! The MQTT topic scheme (CONTRACT.md): the topics the publisher writes and
//! how a command topic splits into camera and command name. What a command's
//! payload means is [`crate::command`]'s business.

/// Topic builder for one base topic.
#[derive(Debug, Clone)]
pub struct Topics {
    base: String,
}

/// What an incoming topic addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `<base>/<cam>/set/<name>`.
    Camera {
        /// Camera id as written in the topic.
        camera: &'a str,
        /// Command name.
        command: &'a str,
    },
    /// `<base>/bridge/set/<name>`.
    Bridge(&'a str),
}

impl Topics {
    /// Topics under `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
        }
    }

    /// The base topic.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `<base>/bridge/state`: `online`/`offline`, the last will.
    pub fn bridge_state(&self) -> String {
        format!("{}/bridge/state", self.base)
    }

    /// `<base>/bridge/info`.
    pub fn bridge_info(&self) -> String {
        format!("{}/bridge/info", self.base)
    }

    /// `<base>/bridge/set/<name>`.
    pub fn bridge_set(&self, name: &str) -> String {
        format!("{}/bridge/set/{name}", self.base)
    }

    /// `<base>/<cam>/<leaf>`, e.g. `availability`, `snapshot`, `state`, `event`.
    pub fn camera(&self, camera: &str, leaf: &str) -> String {
        format!("{}/{camera}/{leaf}", self.base)
    }

    /// `<base>/<cam>/set/<name>`.
    pub fn camera_set(&self, camera: &str, name: &str) -> String {
        format!("{}/{camera}/set/{name}", self.base)
    }

    /// The one subscription that brings every command, the bridge's included
    /// (`bridge` is matched by the `+`; a second filter would deliver it twice).
    pub fn command_filter(&self) -> String {
        format!("{}/+/set/+", self.base)
    }

    /// `<base>/bridge/event`: results of bridge commands and of commands for
    /// cameras that do not exist.
    pub fn bridge_event(&self) -> String {
        format!("{}/bridge/event", self.base)
    }

    /// Splits a command topic; `None` if it is not one of ours.
    pub fn route<'a>(&self, topic: &'a str) -> Option<Route<'a>> {
        let rest = topic.strip_prefix(self.base.as_str())?.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let (camera, set, command) = (parts.next()?, parts.next()?, parts.next()?);
        if set != "set" || parts.next().is_some() || camera.is_empty() || command.is_empty() {
            return None;
        }
        Some(if camera == "bridge" {
            Route::Bridge(command)
        } else {
            Route::Camera { camera, command }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_command_topics() {
        let t = Topics::new("cam2mqtt");
        assert_eq!(
            t.route("cam2mqtt/porch/set/wifi"),
            Some(Route::Camera {
                camera: "porch",
                command: "wifi"
            })
        );
        assert_eq!(
            t.route("cam2mqtt/bridge/set/discover"),
            Some(Route::Bridge("discover"))
        );
        assert_eq!(t.route("cam2mqtt/porch/state"), None);
        assert_eq!(t.route("cam2mqttx/porch/set/wifi"), None);
        assert_eq!(t.route("cam2mqtt/porch/set/wifi/extra"), None);
    }
}
