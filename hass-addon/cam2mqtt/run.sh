#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# ==============================================================================
# Starts the cam2mqtt bridge as a Home Assistant app.
#
# No option is read here: the binary reads /data/options.json itself
# (--addon-options), so the mapping is one place, in Rust, with tests. This
# script only hands over what the binary cannot see: the broker of Home
# Assistant's MQTT service. The binary uses the options' mqtt.url when the
# user set one, else these variables, and stops with a clear message when
# there is neither.
# ==============================================================================

if bashio::services.available "mqtt"; then
    CAM2MQTT_ADDON_MQTT_HOST="$(bashio::services mqtt "host")"
    CAM2MQTT_ADDON_MQTT_PORT="$(bashio::services mqtt "port")"
    CAM2MQTT_ADDON_MQTT_USERNAME="$(bashio::services mqtt "username")"
    CAM2MQTT_ADDON_MQTT_PASSWORD="$(bashio::services mqtt "password")"
    CAM2MQTT_ADDON_MQTT_SSL="$(bashio::services mqtt "ssl")"
    export CAM2MQTT_ADDON_MQTT_HOST CAM2MQTT_ADDON_MQTT_PORT \
        CAM2MQTT_ADDON_MQTT_USERNAME CAM2MQTT_ADDON_MQTT_PASSWORD \
        CAM2MQTT_ADDON_MQTT_SSL
    # Never the password (nor the user name) in the log.
    bashio::log.info "MQTT service found: ${CAM2MQTT_ADDON_MQTT_HOST}:${CAM2MQTT_ADDON_MQTT_PORT}"
else
    bashio::log.info "No MQTT service in Home Assistant: the app uses the broker in its mqtt.url option"
fi

bashio::log.info "Starting cam2mqtt"
exec /usr/bin/cam2mqtt --addon-options /data/options.json --state-dir /data run
