"""Settings, read from the environment (and a local `.env` file) by pydantic-settings."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_name: str = "service"
    database_url: str = "sqlite+aiosqlite:///./app.db"
    database_echo: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
