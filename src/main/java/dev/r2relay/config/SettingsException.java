package dev.r2relay.config;

/** A setting is missing or invalid; the message names the property and its environment variable. */
public final class SettingsException extends RuntimeException {

    public SettingsException(String message) {
        super(message);
    }
}
