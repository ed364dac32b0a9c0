"""The MariaDB tools Wikimedia backs up with: mydumper (dumps) and mariabackup (snapshots).

`source` parses a MariaDB source and keeps its password off command lines; `mydumper` and
`mariabackup` build the tools' commands and read what they write; `inventory` lists databases and
counts rows; `runs` takes the backups (called by `runner.execute`); `server` starts a private
mariadbd on a restored snapshot; `restores` restore-tests both kinds (called by `restore`).
"""
